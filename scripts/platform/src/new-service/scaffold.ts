import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseDocument } from "yaml";
import { loadServiceDeclarations } from "@lattice/kit";
import { chooseLocalPorts, type LocalPorts } from "./local-ports.js";
import { serviceNaming, type ServiceNaming } from "./naming.js";
import {
  chartValuesEntry,
  imageOf,
  withChartCall,
  withChartValuesEntry,
  withDeclaredCall,
  withSkaffoldService,
  withTsconfigReference,
} from "./registration.js";
import { serviceFiles } from "./templates.js";

/** The name is taken: something of a service by that name exists already. */
export class ServiceExistsError extends Error {
  override readonly name = "ServiceExistsError";
}

export interface ScaffoldOptions {
  /** The checkout's root folder. */
  readonly root: string;
  /** The new service's name (a DNS label). */
  readonly name: string;
  /** Whether a port can be listened on now (ports.portIsFree). */
  readonly isFree: (port: number) => Promise<boolean>;
  /** Runs a command in the root folder with the output shown; rejects when it fails. */
  readonly run: (command: string, args: readonly string[]) => Promise<void>;
  /** Where progress lines go. */
  readonly print: (line: string) => void;
}

/** What the scaffold made. */
export interface ScaffoldResult {
  readonly names: ServiceNaming;
  readonly ports: LocalPorts;
  /** Files written, relative to the root. */
  readonly created: readonly string[];
  /** Files changed to register the service, relative to the root. */
  readonly registered: readonly string[];
}

const CHART_VALUES = "charts/lattice/values.yaml";
const SKAFFOLD = "skaffold.yaml";
const TSCONFIG = "tsconfig.json";

/**
 * Creates a working service from a declaration: its folder under services/ and its contract under proto/, with
 * free local ports; registers it where registration is still needed (the root tsconfig's references, the chart's
 * services map, skaffold's artifacts and image values); links it as a workspace (npm install, nothing downloaded)
 * and regenerates the code (npm run generate, which lints the new contract). Throws ServiceNameError for a name
 * that is not a DNS label and ServiceExistsError when anything of that name exists, before writing anything.
 */
export async function scaffoldService(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const { root } = options;
  const names = serviceNaming(options.name);
  const traces = existingTraces(root, names);
  if (traces.length > 0)
    throw new ServiceExistsError(`a service named ${names.service} exists already: ${traces.join("; ")}`);

  const declarations = loadServiceDeclarations(root);
  const ports = await chooseLocalPorts(
    declarations.map((declaration) => declaration.ports),
    options.isFree,
  );

  const files = serviceFiles(names, ports);
  for (const file of files) {
    mkdirSync(dirname(join(root, file.path)), { recursive: true });
    writeFileSync(join(root, file.path), file.content, { flag: "wx" });
  }
  options.print(`created ${files.map((file) => file.path).join(", ")}`);

  const update = (path: string, change: (text: string) => string) =>
    writeFileSync(join(root, path), change(readFileSync(join(root, path), "utf8")));
  update(TSCONFIG, (text) => withTsconfigReference(text, `services/${names.service}`));
  update(CHART_VALUES, (text) =>
    withChartValuesEntry(text, names.service, chartValuesEntry({ calls: [], database: undefined, events: undefined })),
  );
  update(SKAFFOLD, (text) => withSkaffoldService(text, names.service));
  const registered = [TSCONFIG, CHART_VALUES, SKAFFOLD];
  // HTTP edges (declarations with an http port: the gateway) route the contracts of the services they call: the new
  // service's REST rule is served once they call it, locally (npm start) and in the chart (its env and policies).
  for (const edge of declarations.filter((declaration) => declaration.ports.http !== undefined)) {
    const manifest = join("services", edge.name, "package.json");
    update(manifest, (text) => withDeclaredCall(text, names.service));
    update(CHART_VALUES, (text) => withChartCall(text, edge.name, names.service));
    registered.push(manifest);
  }
  options.print(`registered ${names.service} in ${registered.join(", ")}`);

  // Links services/<name> into node_modules and records the workspace in package-lock.json; its dependencies are
  // workspace packages already installed, so nothing is downloaded, and no install script runs.
  await options.run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"]);
  // The templates wrap no line themselves: a long service name may need prettier to (it has no .proto parser).
  const formatted = [...files.map((file) => file.path).filter((path) => !path.endsWith(".proto")), ...registered];
  await options.run("npx", ["prettier", "--write", "--log-level=warn", ...formatted]);
  await options.run("npm", ["run", "generate"]);
  return { names, ports, created: files.map((file) => file.path), registered: [...registered, "package-lock.json"] };
}

/** Where a service of this name already shows: its folder, its proto package, the chart, skaffold, the build. */
export function existingTraces(root: string, names: ServiceNaming): string[] {
  const traces: string[] = [];
  if (existsSync(join(root, "services", names.service))) traces.push(`services/${names.service} exists`);
  const protoDir = dirname(dirname(names.protoFile));
  if (existsSync(join(root, "proto", protoDir))) traces.push(`proto/${protoDir} exists`);
  const values = parseDocument(readFileSync(join(root, CHART_VALUES), "utf8"));
  if (values.hasIn(["services", names.service])) traces.push(`${CHART_VALUES} has services.${names.service}`);
  const skaffold = parseDocument(readFileSync(join(root, SKAFFOLD), "utf8")).toJS() as {
    build?: { artifacts?: { image?: unknown }[] };
  } | null;
  if (skaffold?.build?.artifacts?.some((artifact) => artifact.image === imageOf(names.service)))
    traces.push(`${SKAFFOLD} builds ${imageOf(names.service)}`);
  const tsconfig = JSON.parse(readFileSync(join(root, TSCONFIG), "utf8")) as { references?: { path: string }[] };
  if (tsconfig.references?.some((reference) => reference.path === `services/${names.service}`))
    traces.push(`${TSCONFIG} references services/${names.service}`);
  return traces;
}
