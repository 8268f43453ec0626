import { linkerdSkipList } from "./linkerd.js";
import { run } from "./run.js";
import { tool } from "./tools.js";

/** Custom resources with no schema source here (Linkerd's policy CRDs): skipped by exact group/version/kind. */
export const unvalidatedKinds: readonly string[] = linkerdSkipList;

export interface ResourceResult {
  readonly filename: string;
  readonly kind: string;
  readonly name: string;
  readonly version: string;
  readonly status: "statusValid" | "statusInvalid" | "statusError" | "statusSkipped" | "statusEmpty";
  readonly msg?: string;
}

export interface Validation {
  readonly resources: readonly ResourceResult[];
  readonly exitCode: number;
  readonly stderr: string;
}

/**
 * kubeconform -strict against the offline schemas only: Kubernetes kinds from the generated folder, then custom
 * resources by {group}_{kind}_{version}.json. A kind with no schema is an error (no -ignore-missing-schemas).
 */
export async function kubeconform(input: { files: readonly string[] } | { stdin: string }): Promise<Validation> {
  const kubernetes = tool("LATTICE_KUBERNETES_SCHEMAS");
  const crds = tool("LATTICE_CRD_SCHEMAS");
  const args = [
    "-strict",
    "-summary",
    "-verbose",
    "-output",
    "json",
    "-kubernetes-version",
    tool("LATTICE_KUBERNETES_VERSION").replace(/^v/, ""),
    "-schema-location",
    `${kubernetes}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    "-schema-location",
    `${crds}/{{ .Group }}_{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
    ...(unvalidatedKinds.length > 0 ? ["-skip", unvalidatedKinds.join(",")] : []),
    ...("files" in input ? input.files : ["-"]),
  ];
  const result = await run(tool("KUBECONFORM"), args, "stdin" in input ? { input: input.stdin } : {});
  let parsed: { resources?: ResourceResult[] };
  try {
    parsed = JSON.parse(result.stdout) as { resources?: ResourceResult[] };
  } catch {
    throw new Error(`kubeconform printed no report (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { resources: parsed.resources ?? [], exitCode: result.code, stderr: result.stderr };
}

const isUnvalidated = (r: ResourceResult) => unvalidatedKinds.includes(`${r.version}/${r.kind}`);

/** One line per resource that is not valid, for assertion messages. */
export const problems = (validation: Validation): string[] =>
  validation.resources
    .filter((r) => r.status !== "statusValid" && !(r.status === "statusSkipped" && isUnvalidated(r)))
    .map((r) => `${r.filename} ${r.kind}/${r.name}: ${r.status} ${r.msg ?? ""}`);
