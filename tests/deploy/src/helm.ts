import { join } from "node:path";
import { parseManifests, type Manifest } from "./manifests.js";
import { repositoryRoot } from "./repository.js";
import { run, type RunResult } from "./run.js";
import { tool } from "./tools.js";

/** The chart under test: charts/lattice (LATTICE_CHART_DIR points the tests at another chart with the same contract). */
export const chartDir = process.env.LATTICE_CHART_DIR ?? join(repositoryRoot, "charts", "lattice");

export const releaseName = "lattice";
export const namespace = "lattice";

/** The value sets the chart ships, each applied alone over the chart's defaults. */
export const valueSets = ["default", "dev", "staging", "mesh", "no-mesh", "xds", "mtls"] as const;
export type ValueSet = (typeof valueSets)[number];

export const valuesFiles = (set: ValueSet, chart = chartDir): string[] =>
  set === "default" ? [] : [join(chart, "values", `${set}.yaml`)];

export interface HelmOptions {
  readonly chart?: string;
  readonly valuesFiles?: readonly string[];
  /** --set-json overrides, e.g. `services.user.replicaCount="three"`. */
  readonly setJson?: readonly string[];
}

function valueArgs(options: HelmOptions): string[] {
  return [
    ...(options.valuesFiles ?? []).flatMap((file) => ["--values", file]),
    ...(options.setJson ?? []).flatMap((value) => ["--set-json", value]),
  ];
}

export function helmLint(options: HelmOptions = {}): Promise<RunResult> {
  return run(tool("HELM"), [
    "lint",
    "--strict",
    options.chart ?? chartDir,
    "--namespace",
    namespace,
    ...valueArgs(options),
  ]);
}

export function helmTemplateRaw(options: HelmOptions = {}): Promise<RunResult> {
  return run(tool("HELM"), [
    "template",
    releaseName,
    options.chart ?? chartDir,
    "--namespace",
    namespace,
    // Hooks (the `helm test` Pod) are part of what ships, so they are validated too.
    "--include-crds",
    ...valueArgs(options),
  ]);
}

export interface Rendered {
  readonly text: string;
  readonly manifests: Manifest[];
}

/** `helm template`, failing with helm's own message when it does not render. */
export async function helmTemplate(options: HelmOptions = {}): Promise<Rendered> {
  const result = await helmTemplateRaw(options);
  if (result.code !== 0) throw new Error(`helm template failed (exit ${result.code}):\n${result.stderr}`);
  return { text: result.stdout, manifests: parseManifests(result.stdout, "helm template") };
}

export const renderValueSet = (set: ValueSet): Promise<Rendered> => helmTemplate({ valuesFiles: valuesFiles(set) });
