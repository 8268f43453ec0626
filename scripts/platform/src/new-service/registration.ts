import { isMap, isSeq, parseDocument, Scalar, type Document } from "yaml";
import type { DeclarationBlock } from "@lattice/kit";

/**
 * The registrations a new service still needs where a file cannot read the declarations: the root build's project
 * references, the chart's services map and skaffold's artifacts and image values. Each takes a file's text and
 * returns it with the service added, everything else as it was (comments included); tests/deploy checks the
 * results against the declarations.
 */

/** How the scaffold writes YAML back: exactly as these files are formatted (no folding, `[a, b]` flow lists). */
const YAML_OUTPUT = { lineWidth: 0, flowCollectionPadding: false } as const;

/** tsconfig.json with a project reference to `folder` after the last reference in the same parent folder. */
export function withTsconfigReference(text: string, folder: string): string {
  const tsconfig = JSON.parse(text) as { references?: { path: string }[] };
  const references = tsconfig.references ?? [];
  if (references.some((reference) => reference.path === folder)) return text;
  const parent = folder.slice(0, folder.lastIndexOf("/") + 1);
  const lastSibling = references.map((reference) => reference.path.startsWith(parent)).lastIndexOf(true);
  references.splice(lastSibling === -1 ? references.length : lastSibling + 1, 0, { path: folder });
  return `${JSON.stringify({ ...tsconfig, references }, null, 2)}\n`;
}

/** A service's entry in the chart's services map, as its declaration implies it (see values.yaml's comments). */
export function chartValuesEntry(declaration: Pick<DeclarationBlock, "calls" | "database" | "events">) {
  return {
    enabled: true,
    ...(declaration.calls.length > 0 ? { calls: [...declaration.calls] } : {}),
    ...(declaration.database ? { database: { enabled: true, schema: declaration.database.schema } } : {}),
    ...(declaration.events ? { nats: true } : {}),
  };
}

/** values.yaml with `service` added at the end of its services map. Throws when the map is missing or has it. */
export function withChartValuesEntry(text: string, service: string, entry: ReturnType<typeof chartValuesEntry>) {
  const document = parseDocument(text);
  const services = document.get("services");
  if (!isMap(services)) throw new Error("the chart's values have no services map");
  if (services.has(service)) throw new Error(`the chart's values already have services.${service}`);
  services.set(service, document.createNode(entry));
  return document.toString(YAML_OUTPUT);
}

/**
 * A declaring package.json with `peer` added at the end of its `lattice.calls` (nothing when it is there already):
 * an HTTP edge such as the gateway routes only the services it calls, so a new service's google.api.http rules are
 * served once the edge calls it. The rest of the file is kept as it was (2-space JSON, as npm writes it).
 */
export function withDeclaredCall(text: string, peer: string): string {
  const manifest = JSON.parse(text) as { lattice?: { calls?: string[] } };
  if (!manifest.lattice) throw new Error("the package.json has no lattice declaration");
  const calls = manifest.lattice.calls ?? [];
  if (calls.includes(peer)) return text;
  manifest.lattice.calls = [...calls, peer];
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** values.yaml with `peer` added to services.<service>.calls (created when missing), everything else as it was. */
export function withChartCall(text: string, service: string, peer: string): string {
  const document = parseDocument(text);
  const entry = document.getIn(["services", service]);
  if (!isMap(entry)) throw new Error(`the chart's values have no services.${service}`);
  const calls = entry.get("calls");
  if (calls === undefined) {
    entry.set("calls", document.createNode([peer], { flow: true }));
  } else {
    if (!isSeq(calls)) throw new Error(`services.${service}.calls in the chart's values is not a list`);
    if (calls.items.some((item) => (item instanceof Scalar ? item.value : item) === peer)) return text;
    calls.add(document.createNode(peer));
  }
  return document.toString(YAML_OUTPUT);
}

/**
 * The image skaffold builds for a service: the chart's default name (localhost/lattice/<service>), which podman and
 * Docker keep as it is and kind loads unchanged.
 */
export const imageOf = (service: string) => `localhost/lattice/${service}`;

/**
 * The setValueTemplates entries handing a service's built image to the chart: repository and tag, and the digest
 * where a release pins digests; the registry emptied, since the repository skaffold hands over is the whole name.
 * Skaffold names an artifact's variables with "/", "-" and "." written as "_".
 */
export function imageValueTemplates(service: string, withDigest: boolean): Record<string, string> {
  const variable = imageOf(service).replace(/[/.-]/g, "_");
  return {
    [`services.${service}.image.registry`]: "",
    [`services.${service}.image.repository`]: `{{.IMAGE_REPO_${variable}}}`,
    [`services.${service}.image.tag`]: `{{.IMAGE_TAG_${variable}}}`,
    ...(withDigest ? { [`services.${service}.image.digest`]: `{{.IMAGE_DIGEST_${variable}}}` } : {}),
  };
}

/**
 * skaffold.yaml with an artifact building `service` from services/Dockerfile, and its image entries in every
 * release's setValueTemplates (the default deploy's and each profile's that has them). Throws when the file has
 * no build artifacts or no setValueTemplates at all.
 */
export function withSkaffoldService(text: string, service: string): string {
  const document = parseDocument(text);
  const artifacts = document.getIn(["build", "artifacts"]);
  if (!isSeq(artifacts)) throw new Error("skaffold.yaml has no build.artifacts");
  artifacts.add(
    document.createNode({
      image: imageOf(service),
      context: ".",
      docker: { dockerfile: "services/Dockerfile", buildArgs: { SERVICE: service } },
    }),
  );
  const maps = templateMapPaths(document);
  if (maps.length === 0) throw new Error("skaffold.yaml has no helm release with setValueTemplates");
  for (const path of maps) {
    const templates = document.getIn(path);
    if (!isMap(templates)) continue;
    const pinsDigests = templates.items.some((pair) => String(pair.key).endsWith(".image.digest"));
    for (const [key, template] of Object.entries(imageValueTemplates(service, pinsDigests))) {
      const value = new Scalar(template);
      value.type = Scalar.QUOTE_DOUBLE;
      templates.set(key, value);
    }
  }
  return document.toString(YAML_OUTPUT);
}

/** The paths of the setValueTemplates maps: deploy.helm.releases[i] and profiles[p].deploy.helm.releases[i]. */
function templateMapPaths(document: Document): (string | number)[][] {
  const inReleases = (prefix: (string | number)[]) => {
    const releases = document.getIn([...prefix, "deploy", "helm", "releases"]);
    if (!isSeq(releases)) return [];
    return releases.items
      .map((_, index) => [...prefix, "deploy", "helm", "releases", index, "setValueTemplates"])
      .filter((path) => isMap(document.getIn(path)));
  };
  const profiles = document.get("profiles");
  return [
    ...inReleases([]),
    ...(isSeq(profiles) ? profiles.items.flatMap((_, index) => inReleases(["profiles", index])) : []),
  ];
}
