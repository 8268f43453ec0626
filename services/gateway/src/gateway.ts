import type { DescMethod, DescService, FileRegistry } from "@bufbuild/protobuf";
import { Status, type Logger } from "@lattice/kit";
import { Backends, ownerOf, type ByteServiceDefinition } from "./grpc/backends.js";
import { isGrpcWeb, serveGrpcWeb, type GrpcWebContext } from "./grpc/grpc-web.js";
import { applyCors, type CorsSettings } from "./http/cors.js";
import { ErrorMapper, GatewayError } from "./http/errors.js";
import { Exchange, type HttpRequest, type HttpResponse } from "./http/exchange.js";
import { jsonOptions } from "./rest/json.js";
import { sendError, serveRest, type RestContext } from "./rest/rest-call.js";
import { Router } from "./routing/router.js";
import { routesOf, type SkippedMethod } from "./routing/routes.js";
import type { Interceptor, ServiceClient } from "@lattice/kit";

/** Makes the client of a backend: `connect(definition, peer, { interceptors })` in the service. */
export type ConnectPeer = (
  peer: string,
  definition: ByteServiceDefinition,
  interceptors: readonly Interceptor[],
) => ServiceClient<ByteServiceDefinition>;

export interface GatewayOptions {
  /** The contracts: descriptors with their google.api.http rules (contractRegistry() in the service). */
  readonly registry: FileRegistry;
  /** The services the gateway may call (its declaration's `calls`); each contract service goes to its owner. */
  readonly calls: readonly string[];
  readonly connect: ConnectPeer;
  readonly cors: CorsSettings;
  /** Largest request body accepted, bytes (HTTP 413 past it). */
  readonly maxBodyBytes: number;
  /** Interval of Server-Sent Events keep-alive comments, ms; 0 for none. */
  readonly heartbeatMs: number;
  /** The OpenAPI document served at /openapi.json (JSON text); undefined to serve none. */
  readonly openapi: string | undefined;
  readonly logger: Logger;
}

/** The path the OpenAPI document is served at. */
export const OPENAPI_PATH = "/openapi.json";

/**
 * The gateway: REST routes from the contracts' google.api.http rules, gRPC-Web, and the OpenAPI document, over one
 * request handler for HTTP/1.1 and HTTP/2. Construction checks every rule and throws (RouteError,
 * RouteConflictError) for one that cannot be served or two that collide, so a bad contract stops the start.
 */
export class Gateway {
  readonly router: Router;
  /** Methods with a rule that are not served (client and bidi streaming), for the start-up log. */
  readonly skipped: readonly SkippedMethod[];
  /** Routed contract services and the peer that serves each. */
  readonly services: ReadonlyMap<string, string>;
  private readonly rest: RestContext;
  private readonly grpcWeb: GrpcWebContext;

  constructor(private readonly options: GatewayOptions) {
    const services = routedServices(options.registry, options.calls);
    this.services = new Map(services.map(({ service, peer }) => [service.typeName, peer]));
    const { routes, skipped } = routesOf(
      options.registry,
      services.map((s) => s.service),
    );
    this.router = new Router(routes);
    this.skipped = skipped;
    const peers = new Map(services.map(({ service, peer }) => [service.typeName, peer]));
    const backends = new Backends(
      services.map((s) => s.service),
      (service, definition, interceptors) => options.connect(peers.get(service.typeName)!, definition, interceptors),
    );
    const json = jsonOptions(options.registry);
    const errors = new ErrorMapper(options.registry, json.write);
    this.rest = {
      backends,
      errors,
      json,
      maxBodyBytes: options.maxBodyBytes,
      heartbeatMs: options.heartbeatMs,
      logger: options.logger,
    };
    const methods = new Map<string, DescMethod>();
    for (const { service } of services)
      for (const method of service.methods) methods.set(`/${service.typeName}/${method.name}`, method);
    this.grpcWeb = { backends, methods, maxBodyBytes: options.maxBodyBytes, logger: options.logger };
  }

  /** Handles one request (Node's HTTP/1.1 or HTTP/2 compatibility API). Never rejects. */
  readonly handle = async (request: HttpRequest, response: HttpResponse): Promise<void> => {
    const exchange = new Exchange(request, response);
    try {
      if (applyCors(this.options.cors, exchange)) return;
      if (isGrpcWeb(exchange.headers)) return await serveGrpcWeb(this.grpcWeb, exchange);
      if (exchange.path === OPENAPI_PATH && exchange.method === "GET" && this.options.openapi !== undefined) {
        exchange.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache" });
        exchange.end(this.options.openapi);
        return;
      }
      const match = this.router.match(exchange.method, exchange.path);
      if (match.kind === "found") return await serveRest(this.rest, exchange, match.route, match.variables);
      // grpc-gateway's routing errors: NOT_FOUND "Not Found" (404), UNIMPLEMENTED "Method Not Allowed" (405).
      const error =
        match.kind === "not-found"
          ? new GatewayError(Status.NOT_FOUND, "Not Found")
          : new GatewayError(Status.UNIMPLEMENTED, "Method Not Allowed", 405, { allow: match.allow.join(", ") });
      sendError(this.rest, exchange, this.rest.errors.answer(error), undefined);
    } catch (error) {
      const answer = this.rest.errors.answer(error);
      if (answer.unexpected) this.options.logger.error({ err: error, path: exchange.path }, "request failed");
      sendError(this.rest, exchange, answer, undefined);
    }
  };
}

/** The contract services of `registry` the gateway routes: those whose owner (ownerOf) is among `calls`. */
export function routedServices(
  registry: FileRegistry,
  calls: readonly string[],
): { service: DescService; peer: string }[] {
  const found: { service: DescService; peer: string }[] = [];
  for (const file of registry.files)
    for (const service of file.services) {
      const peer = ownerOf(service.typeName, calls);
      if (peer) found.push({ service, peer });
    }
  return found.sort((a, b) => a.service.typeName.localeCompare(b.service.typeName));
}
