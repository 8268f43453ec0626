import { ValidationError, type FieldViolation } from "../errors/domain.js";

/** The ids Lattice services give their resources. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A resource name pattern with one collection, `<collection>/{id}` (AIP-122), e.g. "users/4f6c…". */
export interface ResourceName {
  /** The collection id, e.g. "users". */
  readonly collection: string;
  /**
   * The id in `name`, e.g. "users/4f6c…" → "4f6c…". Throws ValidationError (INVALID_ARGUMENT with a field
   * violation for `field`, e.g. "user" or "order.user") when `name` is not of this pattern.
   */
  parse(name: string, field: string): string;
  /** What is wrong with `name` as a field violation for `field`, or undefined when it is of this pattern. */
  violation(name: string, field: string): FieldViolation | undefined;
  /** The name of the resource with this id: "users/" + id. */
  format(id: string): string;
}

export interface ResourceNameOptions {
  /** What an id looks like; UUIDs by default (what Lattice services make). */
  readonly id?: RegExp;
  /** How the id is described in errors, e.g. "a user id"; "an id" by default. */
  readonly idDescription?: string;
}

/**
 * The one parser of a resource name pattern: handlers parse names with it, rules work with ids, and a bad name is
 * always the same clear field violation.
 *
 *   export const userName = resourceName("users", { idDescription: "a user id" });
 *   const id = userName.parse(request.name, "name");   // INVALID_ARGUMENT: name: must be "users/{id}" …
 */
export function resourceName(collection: string, options: ResourceNameOptions = {}): ResourceName {
  if (!/^[a-z][a-zA-Z0-9]*$/.test(collection)) throw new Error(`not an AIP-122 collection id: ${collection}`);
  const idPattern = options.id ?? UUID_PATTERN;
  const prefix = `${collection}/`;
  const description = `must be "${collection}/{id}" with ${options.idDescription ?? "an id"}`;
  const idOf = (name: string) => {
    const id = name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
    return id !== undefined && idPattern.test(id) ? id : undefined;
  };
  return {
    collection,
    parse(name, field) {
      const id = idOf(name);
      if (id === undefined) throw new ValidationError([{ field, description }]);
      return id;
    },
    violation: (name, field) => (idOf(name) === undefined ? { field, description } : undefined),
    format: (id) => prefix + id,
  };
}
