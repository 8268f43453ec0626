import { z } from "zod";
import { clientConfigShape } from "../client/client-settings.js";
import { baseConfigSchema } from "../config.js";
import { databaseConfig } from "../db/open-database.js";
import { outboxConfig } from "../outbox/start-relay.js";
import { refineSecurityConfig, type SecurityConfig } from "../security/config.js";
import { peerAddressVariable, type ServiceDeclaration } from "./service-declaration.js";

/**
 * The configuration schema a declaration implies, on top of baseConfigSchema: its local ports as the port
 * defaults; DATABASE_URL (required) and DATABASE_SCHEMA (default: the declared schema) when it has a database;
 * NATS_URL (optional: without it events wait in the outbox) and OUTBOX_POLL_MS when it has events; and
 * <NAME>_SERVICE_ADDRESS (required gRPC target, e.g. "dns:///user:50051") for every service it calls, with the
 * settings of its clients (deadlines, retries, circuit breakers: clientConfigShape). `own` adds the service's own
 * keys. What security keys require of each other (TLS files with TLS_MODE, issuer and audience with a JWT key
 * source) is checked on the whole.
 */
export function declaredConfigSchema<S extends z.ZodRawShape>(declaration: ServiceDeclaration, own: S) {
  const base = baseConfigSchema.shape;
  const peers = Object.fromEntries(declaration.calls.map((peer) => [peerAddressVariable(peer), z.string().min(1)]));
  return baseConfigSchema
    .extend({
      GRPC_PORT: base.GRPC_PORT.default(declaration.ports.grpc),
      ADMIN_PORT: base.ADMIN_PORT.default(declaration.ports.admin),
      HEALTH_PORT: base.HEALTH_PORT.default(declaration.ports.health),
      ...(declaration.database ? databaseConfig(declaration.database.schema) : {}),
      ...(declaration.events ? outboxConfig : {}),
      ...peers,
      ...(declaration.calls.length > 0 ? clientConfigShape(declaration.calls) : {}),
      ...own,
    })
    .superRefine((config, ctx) => refineSecurityConfig(config as unknown as SecurityConfig, ctx));
}
