import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { contractRegistry, defineService, serviceDeclaration } from "@lattice/kit";
import { z } from "zod";
import { Gateway } from "./gateway.js";
import { listenHttp, type HttpListener } from "./http/server.js";

const declaration = serviceDeclaration(import.meta.url);
const require = createRequire(import.meta.url);

const flag = z.enum(["true", "false"]).transform((v) => v === "true");

/** The gateway's own settings (beside the kit's and its clients'); docs/gateway.md lists them. */
export const gatewayConfig = {
  /** Where REST, gRPC-Web and /openapi.json are served (HTTP/1.1 and h2c). */
  HTTP_HOST: z.string().min(1).default("0.0.0.0"),
  HTTP_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(declaration.ports.http ?? 8080),
  /** Comma-separated origins browsers may call from, or "*"; empty turns CORS off. */
  GATEWAY_CORS_ORIGINS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((o) => o.trim())
        .filter((o) => o !== ""),
    ),
  GATEWAY_CORS_CREDENTIALS: flag.default(false),
  GATEWAY_CORS_MAX_AGE_S: z.coerce.number().int().min(0).default(600),
  /** Largest request body, bytes: the largest message the services accept by default. */
  GATEWAY_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /** Server-Sent Events keep-alive comment interval, ms (0: none); below common proxies' 60 s idle timeouts. */
  GATEWAY_SSE_HEARTBEAT_MS: z.coerce.number().int().min(0).default(15_000),
  /** How long HTTP requests in flight may finish at shutdown before their connections are closed, ms. */
  GATEWAY_HTTP_SHUTDOWN_MS: z.coerce.number().int().min(0).default(5_000),
};

/** The OpenAPI document `npm run generate` writes beside the descriptor set (the proto package's openapi.json). */
export function committedOpenApi(): string {
  return readFileSync(require.resolve("@lattice/proto/openapi.json"), "utf8");
}

export interface GatewayModuleOptions {
  /** Called once the HTTP port listens (tests use it to learn an ephemeral port). */
  readonly onListening?: (listener: HttpListener) => void;
}

/**
 * The gateway as the kit runs it: routes from the contracts (contractRegistry), a client per declared peer through
 * `connect` (deadlines, retries, breakers), HTTP on HTTP_PORT, released at shutdown after the gRPC side drained.
 */
export function createGatewayModule(options: GatewayModuleOptions = {}) {
  return defineService({
    declaration,
    config: gatewayConfig,
    async setup({ config, connect, logger, onShutdown }) {
      const gateway = new Gateway({
        registry: contractRegistry(),
        calls: declaration.calls,
        connect: (peer, definition, interceptors) => connect(definition, peer, { interceptors }),
        cors: {
          origins: config.GATEWAY_CORS_ORIGINS,
          credentials: config.GATEWAY_CORS_CREDENTIALS,
          maxAgeSeconds: config.GATEWAY_CORS_MAX_AGE_S,
        },
        maxBodyBytes: config.GATEWAY_MAX_BODY_BYTES,
        heartbeatMs: config.GATEWAY_SSE_HEARTBEAT_MS,
        openapi: committedOpenApi(),
        logger,
      });
      for (const skipped of gateway.skipped) logger.warn(skipped, "method with an HTTP rule not served");
      const listener = await listenHttp(gateway.handle, config.HTTP_HOST, config.HTTP_PORT);
      onShutdown(() => listener.close(config.GATEWAY_HTTP_SHUTDOWN_MS));
      logger.info(
        { url: listener.url, routes: gateway.router.routes().length, services: [...gateway.services.keys()] },
        "gateway listening",
      );
      options.onListening?.(listener);
    },
  });
}

/** The gateway service (main.ts runs it). */
export const gatewayModule = createGatewayModule();
