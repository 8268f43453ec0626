/**
 * A key for one value carried through a call, with its type and the value read when nothing was set. Made once,
 * at module level; its identity is the key (two keys with the same description are different keys).
 *
 *   export const PRINCIPAL = createContextKey<Principal | undefined>("principal", undefined);
 *   ctx.values.set(PRINCIPAL, principal);   // an auth interceptor
 *   ctx.values.get(PRINCIPAL);              // a handler: Principal | undefined, no cast
 *
 * Modelled on connect-es's `createContextKey`.
 */
export interface ContextKey<T> {
  /** For debugging only. */
  readonly description: string;
  readonly defaultValue: T;
}

export function createContextKey<T>(description: string, defaultValue: T): ContextKey<T> {
  return { description, defaultValue };
}

/** Typed values attached to one call: interceptors set them for those after them and for the handler. */
export class ContextValues {
  private readonly values = new Map<ContextKey<unknown>, unknown>();

  /** The value set for `key`, or its default. */
  get<T>(key: ContextKey<T>): T {
    return this.values.has(key) ? (this.values.get(key) as T) : key.defaultValue;
  }

  set<T>(key: ContextKey<T>, value: T): this {
    this.values.set(key, value);
    return this;
  }

  has(key: ContextKey<unknown>): boolean {
    return this.values.has(key);
  }

  delete(key: ContextKey<unknown>): this {
    this.values.delete(key);
    return this;
  }
}
