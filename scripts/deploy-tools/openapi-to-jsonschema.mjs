// Turns the Kubernetes OpenAPI (swagger 2) spec into one standalone JSON schema per API kind, in the file layout
// kubeconform looks up ({kind}-{group's first label}-{version}.json, all lower case). Strict: every object with
// declared properties gets `additionalProperties: false`, so an unknown or misspelled field fails validation the
// way `kubectl apply --validate=strict` rejects it.
//
// Usage: node openapi-to-jsonschema.mjs <swagger.json> <output folder>
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const [specPath, outDir] = process.argv.slice(2);
if (!specPath || !outDir) {
  console.error("usage: openapi-to-jsonschema.mjs <swagger.json> <output folder>");
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, "utf8"));
const definitions = spec.definitions;
const refPrefix = "#/definitions/";

// Types whose JSON form the API server accepts in more than one shape, while the spec names only one.
const replacements = {
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": { oneOf: [{ type: "string" }, { type: "integer" }] },
  "io.k8s.apimachinery.pkg.api.resource.Quantity": { oneOf: [{ type: "string" }, { type: "number" }] },
};

/** Copies a schema node, closing objects that declare properties and collecting the definitions it refers to. */
function strict(node, refs) {
  if (Array.isArray(node)) return node.map((item) => strict(item, refs));
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string") {
      if (!value.startsWith(refPrefix)) throw new Error(`unexpected reference ${value}`);
      refs.add(value.slice(refPrefix.length));
      out[key] = value;
    } else if (key === "properties" && value && typeof value === "object") {
      // Property names are data here, not schema keywords: recurse into each property's schema only.
      out[key] = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, strict(schema, refs)]));
    } else {
      out[key] = strict(value, refs);
    }
  }
  if (out.properties && !("additionalProperties" in out)) out.additionalProperties = false;
  if (out.format === "int-or-string") return replacements["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
  return out;
}

/** The definition by name, in its strict form, and every definition it needs (transitively). */
function closure(rootName) {
  const needed = new Map();
  const pending = [rootName];
  while (pending.length > 0) {
    const name = pending.pop();
    if (needed.has(name)) continue;
    const source = definitions[name];
    if (!source) throw new Error(`the spec refers to ${name} but does not define it`);
    const refs = new Set();
    needed.set(name, replacements[name] ?? strict(source, refs));
    for (const ref of refs) pending.push(ref);
  }
  return needed;
}

mkdirSync(outDir, { recursive: true });
const written = new Map();
for (const [name, definition] of Object.entries(definitions)) {
  for (const gvk of definition["x-kubernetes-group-version-kind"] ?? []) {
    const groupLabel = gvk.group === "" ? "" : `-${gvk.group.split(".")[0]}`;
    const file = `${gvk.kind}${groupLabel}-${gvk.version}.json`.toLowerCase();
    const previous = written.get(file);
    if (previous !== undefined) {
      // Shared kinds (DeleteOptions, WatchEvent...) are listed under several groups; a real clash is an error.
      if (previous === name) continue;
      throw new Error(`${file} would hold both ${previous} and ${name}`);
    }
    const needed = closure(name);
    const root = { ...needed.get(name) };
    needed.delete(name);
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      ...root,
      definitions: Object.fromEntries([...needed.entries()].sort(([a], [b]) => a.localeCompare(b))),
    };
    // The root keeps its own references to itself (JSONSchemaProps is recursive) resolvable.
    if (JSON.stringify(schema).includes(`"${refPrefix}${name}"`)) schema.definitions[name] = root;
    writeFileSync(join(outDir, file), JSON.stringify(schema));
    written.set(file, name);
  }
}
console.error(`  wrote ${written.size} schemas`);
