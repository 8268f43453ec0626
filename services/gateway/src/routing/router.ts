import { compareSpecificity, matchTemplate, templateShape } from "./path-template.js";
import type { Route } from "./routes.js";

/** What a request path and method resolve to. */
export type RouteMatch =
  | { readonly kind: "found"; readonly route: Route; readonly variables: ReadonlyMap<string, string> }
  /** The path exists for other methods (HTTP 405); `allow` lists them for the Allow header. */
  | { readonly kind: "method-not-allowed"; readonly allow: readonly string[] }
  | { readonly kind: "not-found" };

/** Two routes that would answer the same requests; found when the router is built, never while serving. */
export class RouteConflictError extends Error {
  override readonly name = "RouteConflictError";
}

/**
 * Finds the route of a request. Built once from every route; per HTTP method, routes are tried from the most to the
 * least specific (compareSpecificity), so overlapping templates resolve the same way whatever order the contracts
 * list them in, and templates that would match exactly the same paths are refused at construction.
 */
export class Router {
  private readonly byMethod = new Map<string, Route[]>();

  /** Throws RouteConflictError naming both methods when two routes share a method and a template shape. */
  constructor(routes: readonly Route[]) {
    const shapes = new Map<string, Route>();
    for (const route of routes) {
      const key = `${route.binding.httpMethod} ${templateShape(route.template)}`;
      const other = shapes.get(key);
      if (other)
        throw new RouteConflictError(
          `conflicting HTTP routes: ${route.label} of ${route.method.parent.typeName}.${route.method.name} and ${other.label} of ` +
            `${other.method.parent.typeName}.${other.method.name} match the same requests (${key})`,
        );
      shapes.set(key, route);
      const list = this.byMethod.get(route.binding.httpMethod) ?? [];
      list.push(route);
      this.byMethod.set(route.binding.httpMethod, list);
    }
    for (const list of this.byMethod.values()) list.sort((a, b) => compareSpecificity(a.template, b.template));
  }

  /**
   * The route for `httpMethod` and `path` (the request target's path, still percent-encoded, without the query).
   * Throws MalformedPathError (HTTP 400) for a bad percent escape in a segment that had to be decoded.
   */
  match(httpMethod: string, path: string): RouteMatch {
    if (!path.startsWith("/")) return { kind: "not-found" };
    const segments = path.slice(1).split("/");
    for (const route of this.byMethod.get(httpMethod) ?? []) {
      const variables = matchTemplate(route.template, segments);
      if (variables) return { kind: "found", route, variables };
    }
    const allow: string[] = [];
    for (const [method, routes] of this.byMethod) {
      if (method === httpMethod) continue;
      if (routes.some((route) => matchTemplate(route.template, segments))) allow.push(method);
    }
    return allow.length > 0 ? { kind: "method-not-allowed", allow: allow.sort() } : { kind: "not-found" };
  }

  /** Every route, grouped by HTTP method in matching order (for OpenAPI and start-up logs). */
  routes(): Route[] {
    return [...this.byMethod.values()].flat();
  }
}
