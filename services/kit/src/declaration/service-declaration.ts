import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/** A Kubernetes-style name (DNS label): the service's folder, its Service name, its log `service` field. */
const serviceName = z.string().regex(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a DNS label such as order");
const fullServiceName = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+\.[A-Z]\w*$/, "must be a fully-qualified gRPC service name");
const messageName = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+\.[A-Z]\w*$/, "must be a fully-qualified protobuf message name");
const port = z.number().int().min(1).max(65535);
const streamName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be an upper-case JetStream stream name");
const streamEvents = z.object({ stream: streamName, events: z.array(messageName).min(1) }).strict();

/**
 * The `lattice` block of a service's package.json: the one place that says what the service is and what it needs.
 * The kit derives the service's configuration keys from it and checks its setup against it; `npm start`, the test
 * harness, the image builds and the deploy tests read it; skaffold.yaml and the chart values are checked against it.
 * See docs/adding-a-service.md.
 */
export const declarationBlockSchema = z
  .object({
    /**
     * Fully-qualified names of the gRPC services it serves, e.g. ["lattice.order.v1.OrderService"]; none for a
     * worker (it still serves health and reflection, and its admin port).
     */
    grpcServices: z.array(fullServiceName).default([]),
    /**
     * Local ports of `npm start` (in containers every service uses 50051, 8081, 8091), and `http` for a service that
     * also serves plain HTTP to clients (the gateway; 8080 in containers).
     */
    ports: z.object({ grpc: port, admin: port, health: port, http: port.optional() }).strict(),
    /** Services it calls (their names); each gets a <NAME>_SERVICE_ADDRESS setting. */
    calls: z.array(serviceName).default([]),
    /** Its own PostgreSQL schema, migrated from migrations/ beside package.json. */
    database: z
      .object({ schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case SQL identifier") })
      .strict()
      .optional(),
    /** Events it publishes through its outbox, and those it consumes from other services' streams (NATS JetStream). */
    events: z
      .object({ publishes: streamEvents.optional(), consumes: z.array(streamEvents).default([]) })
      .strict()
      .optional(),
  })
  .strict();

export type DeclarationBlock = z.infer<typeof declarationBlockSchema>;

/** A service's declaration, with where it was read from. */
export interface ServiceDeclaration extends DeclarationBlock {
  /** The service's name, from its package name `@lattice/<name>`, e.g. "order". */
  readonly name: string;
  /** The service's folder (holds package.json, and migrations/ when it has a database). */
  readonly directory: string;
}

export class DeclarationError extends Error {
  override readonly name = "DeclarationError";
}

/**
 * Reads the declaration of the service a module file belongs to (`serviceDeclaration(import.meta.url)`): the
 * nearest package.json above the file, compiled or not. Throws DeclarationError naming the file and every problem.
 */
export function serviceDeclaration(moduleUrl: string | URL): ServiceDeclaration {
  let dir = dirname(fileURLToPath(moduleUrl));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new DeclarationError(`no package.json above ${fileURLToPath(moduleUrl)}`);
    dir = parent;
  }
  return readDeclaration(dir);
}

/** The declaration in `<directory>/package.json`; DeclarationError when it has none or it is invalid. */
export function readDeclaration(directory: string): ServiceDeclaration {
  const file = join(directory, "package.json");
  const manifest = JSON.parse(readFileSync(file, "utf8")) as { name?: unknown; lattice?: unknown };
  const name = typeof manifest.name === "string" ? /^@lattice\/([a-z0-9-]+)$/.exec(manifest.name)?.[1] : undefined;
  if (!name || !serviceName.safeParse(name).success)
    throw new DeclarationError(`${file}: the package name must be @lattice/<service name>`);
  if (manifest.lattice === undefined) throw new DeclarationError(`${file}: no "lattice" block declaring the service`);
  const parsed = declarationBlockSchema.safeParse(manifest.lattice);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `lattice.${issue.path.join(".")}: ${issue.message}`);
    throw new DeclarationError(`${file}: ${problems.join("; ")}`);
  }
  return { ...parsed.data, name, directory };
}

/**
 * Every declared service of a checkout: each folder in `<root>/services` whose package.json has a `lattice` block,
 * in name order (the kit and other packages without one are not services).
 */
export function loadServiceDeclarations(root: string): ServiceDeclaration[] {
  const services = join(root, "services");
  return readdirSync(services, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(services, entry.name, "package.json")))
    .map((entry) => join(services, entry.name))
    .filter((dir) => "lattice" in (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as object))
    .map(readDeclaration)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The setting that holds the gRPC target of a service this one calls: "payment" → PAYMENT_SERVICE_ADDRESS. */
export function peerAddressVariable(peer: string): string {
  return `${peer.toUpperCase().replaceAll("-", "_")}_SERVICE_ADDRESS`;
}

/**
 * The subjects of a JetStream stream holding `events`: one wildcard per protobuf package, e.g.
 * ["lattice.payment.v1.>"], so events added to a package later need no stream change. Each event's subject is its
 * full message name.
 */
export function streamSubjects(events: readonly string[]): string[] {
  return [...new Set(events.map((event) => `${event.slice(0, event.lastIndexOf("."))}.>`))].sort();
}
