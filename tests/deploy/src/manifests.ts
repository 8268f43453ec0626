import { parseAllDocuments } from "yaml";

/** One Kubernetes object as rendered; fields past the envelope are read through the typed views below. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

export interface GrpcProbe {
  readonly grpc?: { readonly port: unknown; readonly service?: string };
  readonly httpGet?: unknown;
  readonly exec?: unknown;
  readonly tcpSocket?: unknown;
  readonly initialDelaySeconds?: number;
  readonly periodSeconds?: number;
  readonly timeoutSeconds?: number;
  readonly successThreshold?: number;
  readonly failureThreshold?: number;
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly configMapKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
    readonly secretKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
    readonly fieldRef?: { readonly fieldPath: string };
  };
}

export interface EnvFromSource {
  readonly prefix?: string;
  readonly configMapRef?: { readonly name: string; readonly optional?: boolean };
  readonly secretRef?: { readonly name: string; readonly optional?: boolean };
}

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly envFrom?: readonly EnvFromSource[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly startupProbe?: GrpcProbe;
  readonly readinessProbe?: GrpcProbe;
  readonly livenessProbe?: GrpcProbe;
  readonly lifecycle?: { readonly preStop?: { readonly exec?: { readonly command?: readonly string[] } } };
  readonly securityContext?: Record<string, unknown>;
  readonly resources?: Record<string, unknown>;
  readonly restartPolicy?: string;
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string; readonly readOnly?: boolean }[];
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext?: Record<string, unknown>;
  readonly volumes?: readonly { readonly name: string; readonly configMap?: { readonly name: string } }[];
  readonly [field: string]: unknown;
}

export interface Deployment extends Manifest {
  readonly kind: "Deployment";
  readonly spec: {
    readonly template: {
      readonly metadata?: { readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
      readonly spec: PodSpec;
    };
    readonly [field: string]: unknown;
  };
}

/** Parses a multi-document YAML stream (helm template output, a k8s/ file); empty documents are dropped. */
export function parseManifests(text: string, source = "manifest"): Manifest[] {
  const manifests: Manifest[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors.map((e) => e.message).join("; ")}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || !("kind" in value) || !("apiVersion" in value) || !("metadata" in value)) {
      throw new Error(`${source}: a document is not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    }
    manifests.push(value as Manifest);
  }
  return manifests;
}

export const ofKind = (manifests: readonly Manifest[], kind: string): Manifest[] =>
  manifests.filter((manifest) => manifest.kind === kind);

export const label = (manifest: Manifest, key: string): string | undefined => manifest.metadata.labels?.[key];

/** The Deployment of one service, by the chart contract's `app.kubernetes.io/name` label. */
export function deploymentOf(manifests: readonly Manifest[], service: string): Deployment {
  const found = ofKind(manifests, "Deployment").filter((m) => label(m, "app.kubernetes.io/name") === service);
  if (found.length !== 1) {
    throw new Error(`expected one Deployment labelled app.kubernetes.io/name=${service}, found ${found.length}`);
  }
  return found[0] as Deployment;
}

/** The container named after its service, as the chart contract promises. */
export function serviceContainer(deployment: Deployment, service: string): Container {
  const container = deployment.spec.template.spec.containers.find((c) => c.name === service);
  if (!container) throw new Error(`Deployment ${deployment.metadata.name} has no container named ${service}`);
  return container;
}

export function named(manifests: readonly Manifest[], kind: string, name: string): Manifest | undefined {
  return manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
}

/** A ConfigMap's or Secret's string entries; Secret `data` is base64 as the API stores it. */
export function stringEntries(manifest: Manifest): Record<string, string> {
  const entries: Record<string, string> = {};
  const data = (manifest.data ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(data)) {
    entries[key] = manifest.kind === "Secret" ? Buffer.from(String(value), "base64").toString("utf8") : String(value);
  }
  for (const [key, value] of Object.entries((manifest.stringData ?? {}) as Record<string, unknown>)) {
    entries[key] = String(value);
  }
  return entries;
}
