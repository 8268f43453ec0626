import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { tool } from "./tools.js";

export interface SkaffoldDocument {
  readonly apiVersion?: unknown;
  readonly [field: string]: unknown;
}

export function readSkaffold(path: string): SkaffoldDocument[] {
  return parseAllDocuments(readFileSync(path, "utf8"))
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`${path}: ${document.errors.map((e) => e.message).join("; ")}`);
      return document.toJS() as SkaffoldDocument | null;
    })
    .filter((document): document is SkaffoldDocument => document !== null);
}

const validators = new Map<string, ValidateFunction>();

/**
 * The validator for one skaffold apiVersion, compiled from skaffold's published schema (from the pinned skaffold
 * module). Its `preferredOrder` and `x-intellij-*` keywords are editor hints; they are declared so ajv's strict
 * mode still rejects anything else it does not know.
 */
export function skaffoldValidator(apiVersion: string): ValidateFunction {
  const match = /^skaffold\/(v[0-9a-z]+)$/.exec(apiVersion);
  if (!match) throw new Error(`apiVersion ${apiVersion} is not a skaffold/vN config version`);
  const file = join(tool("LATTICE_SKAFFOLD_SCHEMAS"), `${match[1]!}.json`);
  if (!existsSync(file)) throw new Error(`no published skaffold schema for ${apiVersion} (${file})`);
  let validate = validators.get(file);
  if (!validate) {
    const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true });
    for (const keyword of ["preferredOrder", "x-intellij-html-description", "x-intellij-enum-metadata"]) {
      ajv.addKeyword(keyword);
    }
    validate = ajv.compile(JSON.parse(readFileSync(file, "utf8")) as object);
    validators.set(file, validate);
  }
  return validate;
}

export function skaffoldErrors(document: SkaffoldDocument): string[] {
  const validate = skaffoldValidator(String(document.apiVersion));
  if (validate(document)) return [];
  return (validate.errors ?? []).map(
    (error: ErrorObject) => `${error.instancePath || "/"} ${error.message ?? ""} ${JSON.stringify(error.params)}`,
  );
}

/** Every value under a key with this name, anywhere in the document (profiles included). */
export function valuesOf(node: unknown, key: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((item) => valuesOf(item, key));
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node as Record<string, unknown>).flatMap(([name, child]) => [
    ...(name === key ? [child] : []),
    ...valuesOf(child, key),
  ]);
}
