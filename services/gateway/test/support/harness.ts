import {
  create,
  toBinary,
  fromBinary,
  toJson,
  type DescMethod,
  type DescService,
  type FileRegistry,
  type MessageInitShape,
  type DescMessage,
  type JsonValue,
} from "@bufbuild/protobuf";
import {
  Metadata,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { createClient, createLogger } from "@lattice/kit";
import { Gateway, type GatewayOptions } from "../../src/gateway.js";
import { byteDefinition } from "../../src/grpc/backends.js";
import { listenHttp, type HttpListener } from "../../src/http/server.js";

/** What a backend call received. */
export interface Recorded {
  readonly method: string;
  /** The request message as proto3 JSON (defaults left out). */
  readonly request: JsonValue;
  readonly metadata: Metadata;
  /** Milliseconds from receipt to the call's deadline; undefined without one. */
  readonly deadlineMs: number | undefined;
}

/** How the recording backend answers: messages, or an error with trailers; headers and trailers either way. */
export interface Reply {
  readonly messages?: readonly Uint8Array[];
  readonly error?: { code: GrpcStatus; message: string; details?: Uint8Array };
  readonly header?: Record<string, string | Buffer>;
  readonly trailer?: Record<string, string | Buffer>;
  /** Pause before each message, ms (streams). */
  readonly delayMs?: number;
}

function metadataOf(entries: Record<string, string | Buffer> | undefined): Metadata {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(entries ?? {})) metadata.set(k, v);
  return metadata;
}

/**
 * A gRPC server for every method of `services` that records what it receives and answers what `reply` says, in
 * protobuf bytes, so a test sees exactly what the gateway sent.
 */
export class RecordingBackend {
  readonly calls: Recorded[] = [];
  reply: (method: DescMethod) => Reply = () => ({ messages: [new Uint8Array()] });
  /** Resolved when a stream's writer notices the client went away. */
  streamCancelled: Promise<void>;
  private cancelled!: () => void;
  /** Messages a stream has written so far. */
  written = 0;
  private readonly server = new Server();
  address = "";

  constructor(services: readonly DescService[]) {
    this.streamCancelled = new Promise((resolve) => (this.cancelled = resolve));
    for (const service of services) {
      const implementation: UntypedServiceImplementation = {};
      for (const method of service.methods) {
        implementation[method.name] =
          method.methodKind === "server_streaming"
            ? (call: ServerWritableStream<Buffer, Buffer>) => void this.stream(method, call)
            : (call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>) => this.unary(method, call, done);
      }
      this.server.addService(byteDefinition(service), implementation);
    }
  }

  async start(): Promise<void> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
  }

  close(): void {
    this.server.forceShutdown();
  }

  private record(method: DescMethod, request: Buffer, metadata: Metadata, deadline: Date | number): Reply {
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    this.calls.push({
      method: method.name,
      request: toJson(method.input, fromBinary(method.input, request)),
      metadata,
      deadlineMs: Number.isFinite(at) ? at - Date.now() : undefined,
    });
    return this.reply(method);
  }

  private unary(method: DescMethod, call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>): void {
    const reply = this.record(method, call.request, call.metadata, call.getDeadline());
    if (reply.header) call.sendMetadata(metadataOf(reply.header));
    const trailer = metadataOf(reply.trailer);
    if (reply.error) {
      if (reply.error.details) trailer.set("grpc-status-details-bin", Buffer.from(reply.error.details));
      done({ code: reply.error.code, details: reply.error.message, metadata: trailer });
      return;
    }
    done(null, Buffer.from(reply.messages?.[0] ?? new Uint8Array()), trailer);
  }

  private async stream(method: DescMethod, call: ServerWritableStream<Buffer, Buffer>): Promise<void> {
    const reply = this.record(method, call.request, call.metadata, call.getDeadline());
    this.written = 0;
    if (reply.header) call.sendMetadata(metadataOf(reply.header));
    call.on("cancelled", () => this.cancelled());
    for (const message of reply.messages ?? []) {
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if (call.cancelled) return;
      if (!call.write(Buffer.from(message))) await new Promise((r) => call.once("drain", r));
      this.written++;
    }
    const trailer = metadataOf(reply.trailer);
    if (reply.error) {
      if (reply.error.details) trailer.set("grpc-status-details-bin", Buffer.from(reply.error.details));
      call.emit("error", { code: reply.error.code, details: reply.error.message, metadata: trailer });
      return;
    }
    call.end(trailer);
  }
}

/** A message of `schema` as bytes. */
export function encode<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

export { GrpcStatus };

/** The gateway under test, on an ephemeral loopback port, calling one recording backend for every service. */
export class TestGateway {
  private constructor(
    readonly gateway: Gateway,
    readonly http: HttpListener,
    readonly backend: RecordingBackend,
    private readonly clients: readonly { close(): void }[],
  ) {}

  static async start(
    registry: FileRegistry,
    calls: readonly string[],
    overrides: Partial<GatewayOptions> = {},
  ): Promise<TestGateway> {
    const services = [...registry.files].flatMap((f) => f.services).filter((s) => s.typeName.startsWith("lattice."));
    const backend = new RecordingBackend(services);
    await backend.start();
    const clients: { close(): void }[] = [];
    const gateway = new Gateway({
      registry,
      calls,
      connect: (_peer, definition, interceptors) => {
        const client = createClient(definition, backend.address, {
          interceptors,
          defaultTimeoutMs: 10_000,
          streamTimeoutMs: 60_000,
        });
        clients.push(client);
        return client;
      },
      cors: { origins: ["https://app.example"], credentials: false, maxAgeSeconds: 60 },
      maxBodyBytes: 64 * 1024,
      heartbeatMs: 0,
      openapi: '{"openapi":"3.1.0"}',
      logger: createLogger({ service: "gateway", level: "silent" }),
      ...overrides,
    });
    const http = await listenHttp(gateway.handle, "127.0.0.1", 0);
    return new TestGateway(gateway, http, backend, clients);
  }

  get url(): string {
    return this.http.url;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.http.close(100);
    for (const client of this.clients) client.close();
    this.backend.close();
  }
}
