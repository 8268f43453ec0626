import { externalSecretKeysOf, type ServiceName } from "./chart-contract.js";
import { named, stringEntries, type Container, type Manifest } from "./manifests.js";

/** ENV the image sets (services/Dockerfile); the container's env overrides it, as in a pod. */
export const imageEnv: Readonly<Record<string, string>> = {
  GRPC_PORT: "50051",
  ADMIN_PORT: "8081",
  HEALTH_PORT: "8091",
};

/** The kit's defaults for the shutdown budget (services/kit/src/config.ts), used when the chart sets none. */
export const kitDefaults: Readonly<Record<string, string>> = {
  SHUTDOWN_DRAIN_MS: "5000",
  SHUTDOWN_TIMEOUT_MS: "20000",
};

/**
 * The environment a container starts with, resolved like the kubelet does: image ENV, then envFrom sources in
 * order (ConfigMaps and Secrets from the same render), then `env` entries, later ones winning. A reference to a
 * missing object or key fails unless marked optional, or, for a Secret, unless `externalSecret` supplies it.
 */
export function resolveEnv(
  container: Container,
  manifests: readonly Manifest[],
  options: { externalSecret?: (name: string) => Record<string, string> } = {},
): Record<string, string> {
  const env: Record<string, string> = { ...imageEnv };
  const source = (kind: "ConfigMap" | "Secret", name: string, optional: boolean | undefined) => {
    const found = named(manifests, kind, name);
    if (found) return stringEntries(found);
    // A Secret made outside the chart (existingSecret): the caller says what it holds.
    if (kind === "Secret" && options.externalSecret) return options.externalSecret(name);
    if (!optional) throw new Error(`container ${container.name} refers to ${kind} ${name}, which is not rendered`);
    return undefined;
  };
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const entries = source(from.configMapRef ? "ConfigMap" : "Secret", ref.name, ref.optional);
    for (const [key, value] of Object.entries(entries ?? {})) env[`${from.prefix ?? ""}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
      continue;
    }
    const keyRef = variable.valueFrom?.configMapKeyRef ?? variable.valueFrom?.secretKeyRef;
    if (keyRef) {
      const entries = source(
        variable.valueFrom?.configMapKeyRef ? "ConfigMap" : "Secret",
        keyRef.name,
        keyRef.optional,
      );
      const value = entries?.[keyRef.key];
      if (value === undefined && !keyRef.optional) {
        throw new Error(
          `container ${container.name}: ${variable.name} refers to missing key ${keyRef.name}/${keyRef.key}`,
        );
      }
      if (value !== undefined) env[variable.name] = value;
      continue;
    }
    // fieldRef and friends only exist in a cluster; a local process gets a recognisable stand-in.
    if (variable.valueFrom?.fieldRef) env[variable.name] = `local-${variable.valueFrom.fieldRef.fieldPath}`;
    else env[variable.name] = "";
  }
  return env;
}

/** A number of milliseconds from the resolved env, with the kit's default. */
export function envMillis(env: Readonly<Record<string, string>>, key: keyof typeof kitDefaults): number {
  const raw = env[key] ?? kitDefaults[key]!;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${key}=${raw} is not a whole number of milliseconds`);
  return value;
}

/** resolveEnv for one of the chart's services, a Secret made outside the chart holding what the contract says. */
export const resolveServiceEnv = (service: ServiceName, container: Container, manifests: readonly Manifest[]) =>
  resolveEnv(container, manifests, {
    externalSecret: () => Object.fromEntries(externalSecretKeysOf(service).map((key) => [key, "from-existing-secret"])),
  });
