import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LIVENESS, READINESS, ServingStatus, type HealthRegistry } from "../health/health-registry.js";
import type { Logger } from "../logger.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";

export interface AdminServerOptions {
  host: string;
  port: number;
  health: HealthRegistry;
  metrics: ServerMetrics;
  logger: Logger;
}

export interface AdminServer {
  /** Base URL, e.g. "http://127.0.0.1:8081". */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Plaintext HTTP beside the gRPC port: /livez and /readyz for probes and load balancers that cannot speak gRPC
 * (or TLS), /metrics for Prometheus. Reads the same health registry as the gRPC health service.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { health, metrics, logger } = options;
  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      logger.error({ err: error, path: req.url }, "admin request failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "method not allowed\n");
    const path = (req.url ?? "/").split("?")[0];
    switch (path) {
      case "/livez":
        return probe(res, health.get(LIVENESS));
      case "/readyz":
        return probe(res, health.get(READINESS));
      case "/metrics": {
        const body = await metrics.render();
        res.writeHead(200, { "content-type": metrics.contentType });
        res.end(req.method === "HEAD" ? undefined : body);
        return;
      }
      default:
        return send(res, 404, "not found\n");
    }
  }

  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function probe(res: ServerResponse, status: ServingStatus | undefined): void {
  const serving = status === ServingStatus.SERVING;
  send(res, serving ? 200 : 503, serving ? "ok\n" : "not serving\n");
}

function send(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { "content-type": "text/plain; charset=utf-8" });
  res.end(body);
}
