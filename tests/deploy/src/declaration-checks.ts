import { join, relative } from "node:path";
import type { ServiceDeclaration } from "@lattice/kit";

/**
 * Checks of what cannot read the service declarations against them, and of the declarations among themselves.
 * Each function returns its problems as sentences naming the file, the service and what differs; none means all
 * agree. The files come in parsed, so the tests can break a copy and see the check fail.
 */

/**
 * The image skaffold builds for a service: the chart's default <registry>/<repositoryPrefix>/<service>, the name the
 * README's build gives it.
 */
export const serviceImageName = (service: string): string => `localhost/lattice/${service}`;

/** The name skaffold gives an artifact in its template variables: "/", "-" and "." become "_". */
export const skaffoldArtifactVariable = (image: string): string => image.replace(/[/.-]/g, "_");

/**
 * The setValueTemplates entries that hand a service's built image to the chart (digest only where pinned). The
 * repository skaffold hands over is the whole name, registry included, so the chart's registry is emptied.
 */
export function imageValueTemplates(service: string, withDigest: boolean): Record<string, string> {
  const variable = skaffoldArtifactVariable(serviceImageName(service));
  return {
    [`services.${service}.image.registry`]: "",
    [`services.${service}.image.repository`]: `{{.IMAGE_REPO_${variable}}}`,
    [`services.${service}.image.tag`]: `{{.IMAGE_TAG_${variable}}}`,
    ...(withDigest ? { [`services.${service}.image.digest`]: `{{.IMAGE_DIGEST_${variable}}}` } : {}),
  };
}

const list = (items: readonly string[]) => (items.length === 0 ? "none" : [...items].sort().join(", "));
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const asRecord = (value: unknown): Record<string, unknown> => (isRecord(value) ? value : {});
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);

/**
 * The declarations among themselves: each folder is named after its service, every `calls` entry names another
 * declared service, every consumed stream is published by a declared service and its events are among those
 * published, no stream has two publishers, no two services share a database schema, and every local port is
 * used once.
 */
export function declarationProblems(declarations: readonly ServiceDeclaration[], root: string): string[] {
  const problems: string[] = [];
  const file = (declaration: ServiceDeclaration) => relative(root, join(declaration.directory, "package.json"));
  const names = new Set(declarations.map((declaration) => declaration.name));
  const publishers = new Map<string, ServiceDeclaration>();
  for (const declaration of declarations) {
    const stream = declaration.events?.publishes?.stream;
    if (!stream) continue;
    const other = publishers.get(stream);
    if (other) {
      problems.push(`${file(declaration)}: ${declaration.name} publishes ${stream}, which ${other.name} publishes too`);
    } else {
      publishers.set(stream, declaration);
    }
  }
  const ports = new Map<number, string>();
  const schemas = new Map<string, string>();
  for (const declaration of declarations) {
    const { name } = declaration;
    const folder = relative(root, declaration.directory);
    if (folder !== join("services", name)) {
      problems.push(
        `${file(declaration)}: declares @lattice/${name}, but its folder is ${folder}, not services/${name}`,
      );
    }
    for (const peer of declaration.calls) {
      if (peer === name) problems.push(`${file(declaration)}: ${name} calls itself`);
      else if (!names.has(peer))
        problems.push(`${file(declaration)}: ${name} calls "${peer}", which no service declares`);
    }
    for (const consumed of declaration.events?.consumes ?? []) {
      const publisher = publishers.get(consumed.stream);
      if (!publisher) {
        problems.push(`${file(declaration)}: ${name} consumes ${consumed.stream}, which no service publishes`);
        continue;
      }
      const published = publisher.events?.publishes?.events ?? [];
      const unpublished = consumed.events.filter((event) => !published.includes(event));
      if (unpublished.length > 0) {
        problems.push(
          `${file(declaration)}: ${name} consumes ${list(unpublished)} from ${consumed.stream}, ` +
            `which ${publisher.name} does not publish (it publishes ${list(published)})`,
        );
      }
    }
    for (const [kind, port] of Object.entries(declaration.ports)) {
      const owner = ports.get(port);
      if (owner) problems.push(`${file(declaration)}: ${name}'s ${kind} port ${port} is also ${owner} port`);
      else ports.set(port, `${name}'s ${kind}`);
    }
    const schema = declaration.database?.schema;
    if (schema) {
      const owner = schemas.get(schema);
      if (owner) problems.push(`${file(declaration)}: ${name}'s database schema ${schema} is also ${owner}'s`);
      else schemas.set(schema, name);
    }
  }
  return problems;
}

interface Artifact {
  readonly image?: unknown;
  readonly context?: unknown;
  readonly docker?: { readonly dockerfile?: unknown; readonly buildArgs?: Record<string, unknown> };
}

/** Where setValueTemplates maps sit in a skaffold document: the default deploy's releases and each profile's. */
function templateMaps(document: Record<string, unknown>): { where: string; templates: Record<string, unknown> }[] {
  const releasesOf = (owner: unknown) => asArray(asRecord(asRecord(asRecord(owner).deploy).helm).releases);
  const found = (scope: string, owner: unknown) =>
    releasesOf(owner)
      .map(asRecord)
      .filter((release) => isRecord(release.setValueTemplates))
      .map((release) => ({
        where: `${scope}, release ${String(release.name)}`,
        templates: asRecord(release.setValueTemplates),
      }));
  return [
    ...found("default deploy", document),
    ...asArray(document.profiles).flatMap((profile) => found(`profile ${String(asRecord(profile).name)}`, profile)),
  ];
}

/**
 * skaffold.yaml against the declarations: the default build has an artifact lattice/<service> per declared service
 * (context ".", services/Dockerfile, build arg SERVICE=<service>) and none for anything else, and every
 * setValueTemplates map (the default deploy's and each profile's that has one) hands each declared service its
 * image repository and tag, and its digest where that map pins digests, and names no other service.
 */
export function skaffoldProblems(
  declarations: readonly ServiceDeclaration[],
  document: Record<string, unknown>,
  file = "skaffold.yaml",
): string[] {
  const problems: string[] = [];
  const names = declarations.map((declaration) => declaration.name);
  const artifacts = asArray(asRecord(document.build).artifacts).map((artifact) => asRecord(artifact) as Artifact);
  for (const service of names) {
    const image = serviceImageName(service);
    const artifact = artifacts.find((candidate) => candidate.image === image);
    if (!artifact) {
      problems.push(
        `${file}: no build artifact for service ${service} (image ${image} with build arg SERVICE=${service})`,
      );
      continue;
    }
    const differences = [
      artifact.context === "." ? "" : `context ${String(artifact.context)}, not .`,
      artifact.docker?.dockerfile === "services/Dockerfile"
        ? ""
        : `dockerfile ${String(artifact.docker?.dockerfile)}, not services/Dockerfile`,
      artifact.docker?.buildArgs?.SERVICE === service
        ? ""
        : `build arg SERVICE=${String(artifact.docker?.buildArgs?.SERVICE)}, not ${service}`,
    ].filter((difference) => difference !== "");
    if (differences.length > 0) problems.push(`${file}: artifact ${image} of ${service}: ${differences.join("; ")}`);
  }
  for (const artifact of artifacts) {
    const service = typeof artifact.image === "string" ? artifact.image.replace(/^localhost\/lattice\//, "") : "";
    if (!names.includes(service)) {
      problems.push(`${file}: artifact ${String(artifact.image)} builds no declared service`);
    }
  }
  const maps = templateMaps(document);
  if (maps.length === 0) problems.push(`${file}: no helm release has setValueTemplates for the services' images`);
  for (const { where, templates } of maps) {
    const pinsDigests = Object.keys(templates).some((key) => key.endsWith(".image.digest"));
    for (const service of names) {
      for (const [key, template] of Object.entries(imageValueTemplates(service, pinsDigests))) {
        const actual = templates[key];
        if (actual === undefined)
          problems.push(`${file} (${where}): setValueTemplates lacks ${key}: "${template}" for ${service}`);
        else if (actual !== template)
          problems.push(
            `${file} (${where}): setValueTemplates ${key} is ${JSON.stringify(actual)}, not "${template}" for ${service}`,
          );
      }
    }
    for (const key of Object.keys(templates)) {
      const service = /^services\.([^.]+)\./.exec(key)?.[1];
      if (service !== undefined && !names.includes(service))
        problems.push(`${file} (${where}): setValueTemplates ${key} names ${service}, which no service declares`);
    }
  }
  return problems;
}

/**
 * The chart's `services` map against the declarations: every declared service has an entry that is enabled, calls
 * exactly the declared services (in any order), has a database with the declared schema exactly when one is
 * declared, and `nats: true` exactly when the service declares events; no entry names an undeclared service.
 */
export function chartValuesProblems(
  declarations: readonly ServiceDeclaration[],
  values: Record<string, unknown>,
  file = "charts/lattice/values.yaml",
): string[] {
  const problems: string[] = [];
  const entries = asRecord(values.services);
  for (const declaration of declarations) {
    const { name } = declaration;
    const entry = entries[name];
    if (!isRecord(entry)) {
      problems.push(`${file}: services.${name} is missing (every declared service needs an entry)`);
      continue;
    }
    if (entry.enabled !== true)
      problems.push(`${file}: services.${name}.enabled is ${String(entry.enabled)}, not true`);
    const calls = asArray(entry.calls).map(String);
    if (list(calls) !== list(declaration.calls)) {
      problems.push(
        `${file}: services.${name}.calls is [${list(calls)}], its declaration calls [${list(declaration.calls)}]`,
      );
    }
    const database = asRecord(entry.database);
    const hasDatabase = database.enabled === true;
    if (declaration.database && !hasDatabase) {
      problems.push(
        `${file}: services.${name}.database is not enabled, but ${name} declares schema ${declaration.database.schema}`,
      );
    } else if (declaration.database && database.schema !== declaration.database.schema) {
      problems.push(
        `${file}: services.${name}.database.schema is ${String(database.schema)}, its declaration says ${declaration.database.schema}`,
      );
    } else if (!declaration.database && hasDatabase) {
      problems.push(`${file}: services.${name}.database is enabled, but ${name} declares no database`);
    }
    const nats = entry.nats === true;
    if (nats !== (declaration.events !== undefined)) {
      problems.push(
        declaration.events
          ? `${file}: services.${name}.nats is not true, but ${name} declares events`
          : `${file}: services.${name}.nats is true, but ${name} declares no events`,
      );
    }
  }
  for (const name of Object.keys(entries)) {
    if (!declarations.some((declaration) => declaration.name === name))
      problems.push(
        `${file}: services.${name} is no declared service (no services/${name}/package.json with a lattice block)`,
      );
  }
  return problems;
}

/** Whether an npm workspace pattern ("services/*", "tests/deploy") covers `folder`. */
export function workspaceCovers(pattern: string, folder: string): boolean {
  const segments = pattern.replace(/^\.\//, "").replace(/\/$/, "").split("/");
  const parts = folder.split("/");
  if (segments.length !== parts.length) return false;
  return segments.every((segment, index) => {
    const regex = new RegExp(
      `^${segment
        .split("*")
        .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^/]*")}$`,
    );
    return regex.test(parts[index]!);
  });
}

/**
 * The root package.json and tsconfig.json against the declarations: every service folder is an npm workspace (by
 * name or by a pattern such as services/*) and a project reference of the root build.
 */
export function rootProjectProblems(
  declarations: readonly ServiceDeclaration[],
  packageJson: Record<string, unknown>,
  tsconfig: Record<string, unknown>,
): string[] {
  const problems: string[] = [];
  const workspaces = asArray(packageJson.workspaces).map(String);
  const references = asArray(tsconfig.references).map((reference) =>
    String(asRecord(reference).path).replace(/^\.\//, "").replace(/\/$/, ""),
  );
  for (const { name } of declarations) {
    const folder = `services/${name}`;
    if (!workspaces.some((pattern) => workspaceCovers(pattern, folder)))
      problems.push(`package.json: workspaces [${workspaces.join(", ")}] do not include ${folder} (service ${name})`);
    if (!references.includes(folder))
      problems.push(
        `tsconfig.json: references do not include ${folder} (service ${name}), so tsc -b does not build it`,
      );
  }
  return problems;
}
