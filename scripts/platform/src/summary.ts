import type { ServiceDeclaration } from "@lattice/kit";
import { LOCAL_HOST, type LocalServers } from "./service-env.js";

/**
 * Requests to paste for methods of the services that ship with Lattice, by "<gRPC service>/<method>"; printed when
 * a running service serves that gRPC service. Every other service gets its --list-methods line.
 */
export const EXAMPLE_REQUESTS: Readonly<Record<string, string>> = {
  "lattice.greeter.v1.GreeterService/Greet": '{"name":"Ada"}',
  "lattice.user.v1.UserService/CreateUser": '{"user":{"email":"ada@example.com","displayName":"Ada"}}',
};

const BUF_CURL = "npx buf curl --protocol grpc --http2-prior-knowledge";

/**
 * What `npm start` prints once every service is ready: where each one listens, the shared servers, and calls to
 * paste (buf curl through reflection, the admin port, the health probe).
 */
export function startedSummary(services: readonly ServiceDeclaration[], servers: LocalServers): string {
  const width = Math.max("service".length, ...services.map((service) => service.name.length)) + 2;
  const row = (name: string, grpc: string, admin: string, health: string) =>
    `  ${name.padEnd(width)}${grpc.padEnd(18)}${admin.padEnd(34)}${health}`.trimEnd();
  const lines = [
    "",
    "Lattice is up.",
    "",
    row("service", "gRPC", "admin (/livez /readyz /metrics)", "gRPC health (plaintext)"),
    ...services.map((service) =>
      row(
        service.name,
        `${LOCAL_HOST}:${service.ports.grpc}`,
        `http://${LOCAL_HOST}:${service.ports.admin}`,
        `${LOCAL_HOST}:${service.ports.health}`,
      ),
    ),
  ];
  for (const service of services)
    if (service.ports.http !== undefined)
      lines.push(`  ${service.name} HTTP: http://${LOCAL_HOST}:${service.ports.http}  (REST, gRPC-Web, /openapi.json)`);
  if (servers.databaseUrl || servers.natsUrl || servers.xdsApi) lines.push("");
  if (servers.databaseUrl) lines.push(`  PostgreSQL  ${servers.databaseUrl}  (embedded; one schema per service)`);
  if (servers.natsUrl) lines.push(`  NATS        ${servers.natsUrl}  (JetStream)`);
  if (servers.xdsApi)
    lines.push(
      `  xDS         ${servers.xdsApi}/v1/config  (callers use xds:///<service>; PUT /v1/services/<name> to change one)`,
    );
  if (servers.certsDir) lines.push("", `  mTLS: every call needs a client certificate from ${servers.certsDir}`);
  lines.push("", "Try (from this folder):", ...restCalls(services), ...exampleCalls(services, servers.certsDir));
  const first = services[0];
  if (first) {
    lines.push(
      `  curl http://${LOCAL_HOST}:${first.ports.admin}/readyz`,
      `  node services/kit/dist/src/bin/health-probe.js --addr=${LOCAL_HOST}:${first.ports.health} --service=readiness`,
    );
  }
  lines.push("", "Ctrl-C stops everything.");
  return lines.join("\n");
}

/**
 * curl lines against each service that serves HTTP (the gateway): a REST call, a stream as Server-Sent Events, and
 * where its OpenAPI document is.
 */
export function restCalls(services: readonly ServiceDeclaration[]): string[] {
  return services
    .filter((service) => service.ports.http !== undefined)
    .flatMap((service) => {
      const base = `http://${LOCAL_HOST}:${service.ports.http}`;
      return [
        `  curl -X POST ${base}/v1/greet -d '{"name":"Ada","language":"LANGUAGE_FRENCH"}'`,
        `  curl -N -H 'Accept: text/event-stream' '${base}/v1/greetings?name=Ada&count=3&interval=0.5s'`,
        `  curl ${base}/openapi.json`,
      ];
    });
}

/**
 * One buf curl line per known example method a service serves, and one --list-methods line per service. With
 * `certsDir` (npm start --tls) the calls use TLS and present the service's own development certificate.
 */
export function exampleCalls(services: readonly ServiceDeclaration[], certsDir?: string): string[] {
  const curl = (service: ServiceDeclaration) =>
    certsDir
      ? `npx buf curl --protocol grpc --cacert ${certsDir}/ca.crt --cert ${certsDir}/${service.name}/tls.crt ` +
        `--key ${certsDir}/${service.name}/tls.key --servername ${service.name}`
      : BUF_CURL;
  const base = (service: ServiceDeclaration) => `${certsDir ? "https" : "http"}://${LOCAL_HOST}:${service.ports.grpc}`;
  const calls: string[] = [];
  for (const service of services) {
    for (const [method, request] of Object.entries(EXAMPLE_REQUESTS)) {
      const grpcService = method.slice(0, method.indexOf("/"));
      if (service.grpcServices.includes(grpcService))
        calls.push(`  ${curl(service)} -d '${request}' ${base(service)}/${method}`);
    }
  }
  for (const service of services) calls.push(`  ${curl(service)} --list-methods ${base(service)}`);
  return calls;
}
