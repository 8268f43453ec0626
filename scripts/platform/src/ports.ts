import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { LOCAL_HOST } from "./service-env.js";

/** A port nothing listens on at 127.0.0.1 right now, drawn below the ephemeral range (see the kit's testing tools). */
export { freePort } from "@lattice/kit/testing";

/** Whether `port` on 127.0.0.1 can be listened on now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, LOCAL_HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * Calls `check` every `intervalMs` (default 100) until it returns true (resolves true), `timeoutMs` passes or
 * `until` settles (resolves false). A check that throws counts as not yet.
 */
export async function waitFor(
  check: () => Promise<boolean>,
  options: { readonly timeoutMs: number; readonly until?: Promise<unknown>; readonly intervalMs?: number },
): Promise<boolean> {
  const state = { ended: false };
  void options.until?.then(
    () => (state.ended = true),
    () => (state.ended = true),
  );
  const deadline = Date.now() + options.timeoutMs;
  while (!state.ended && Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await sleep(options.intervalMs ?? 100);
  }
  return false;
}
