import { readFileSync } from "node:fs";
import { join } from "node:path";

/** A JSON schema node, as far as these lookups need it. */
interface SchemaNode {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly properties?: Record<string, SchemaNode>;
  readonly additionalProperties?: boolean | SchemaNode;
  readonly [keyword: string]: unknown;
}

export function readValuesSchema(chart: string): SchemaNode {
  return JSON.parse(readFileSync(join(chart, "values.schema.json"), "utf8")) as SchemaNode;
}

/** Follows local `$ref`s (#/definitions/x, #/$defs/x) to the schema they name. */
function resolve(root: SchemaNode, node: SchemaNode): SchemaNode {
  let current = node;
  for (let hops = 0; current.$ref !== undefined; hops++) {
    if (hops > 20 || !current.$ref.startsWith("#/")) throw new Error(`cannot follow $ref ${current.$ref}`);
    let target: unknown = root;
    for (const part of current.$ref.slice(2).split("/")) target = (target as Record<string, unknown>)[part];
    if (!target || typeof target !== "object") throw new Error(`$ref ${current.$ref} names nothing`);
    current = target as SchemaNode;
  }
  return current;
}

/** The schema that governs one value path, descending through properties and map-like additionalProperties. */
export function schemaAt(root: SchemaNode, path: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = resolve(root, root);
  for (const key of path) {
    if (!node) return undefined;
    const next: SchemaNode | undefined =
      node.properties?.[key] ?? (typeof node.additionalProperties === "object" ? node.additionalProperties : undefined);
    node = next ? resolve(root, next) : undefined;
  }
  return node;
}

const hasType = (node: SchemaNode, wanted: string): boolean =>
  Array.isArray(node.type) ? node.type.includes(wanted) : node.type === wanted;

/** Property paths (depth first, declared order) whose schema satisfies `pick`, below `start`. */
export function findProperties(
  root: SchemaNode,
  start: readonly string[],
  pick: (node: SchemaNode) => boolean,
  depth = 4,
): string[][] {
  const found: string[][] = [];
  const walk = (path: readonly string[], left: number) => {
    const node = schemaAt(root, path);
    if (!node) return;
    if (path.length > start.length && pick(node)) found.push([...path]);
    if (left === 0) return;
    for (const key of Object.keys(node.properties ?? {})) walk([...path, key], left - 1);
  };
  walk(start, depth);
  return found;
}

export const isNumeric = (node: SchemaNode): boolean => hasType(node, "integer") || hasType(node, "number");
export const isEnum = (node: SchemaNode): boolean => Array.isArray(node.enum) && node.enum.length > 0;
