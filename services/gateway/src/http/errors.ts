import {
  create,
  fromBinary,
  toJson,
  type DescMessage,
  type JsonObject,
  type JsonWriteOptions,
  type Message,
  type Registry,
} from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import type { Metadata } from "@grpc/grpc-js";
import { GrpcError, Status } from "@lattice/kit";
import { BindingError } from "../rest/binding.js";
import { MalformedPathError } from "../routing/path-template.js";
import { HeaderError } from "./headers.js";

/**
 * The HTTP status of a gRPC status code, as grpc-gateway v2 maps it (runtime/errors.go HTTPStatusFromCode):
 * FAILED_PRECONDITION is 400, not 412, and CANCELLED is nginx's 499.
 */
export function httpStatusOf(code: number): number {
  // UNKNOWN, INTERNAL, DATA_LOSS and codes outside the table: 500.
  return HTTP_STATUS.get(code) ?? 500;
}

const HTTP_STATUS = new Map<number, number>([
  [Status.OK, 200],
  [Status.CANCELLED, 499],
  [Status.INVALID_ARGUMENT, 400],
  [Status.FAILED_PRECONDITION, 400],
  [Status.OUT_OF_RANGE, 400],
  [Status.DEADLINE_EXCEEDED, 504],
  [Status.NOT_FOUND, 404],
  [Status.ALREADY_EXISTS, 409],
  [Status.ABORTED, 409],
  [Status.PERMISSION_DENIED, 403],
  [Status.UNAUTHENTICATED, 401],
  [Status.RESOURCE_EXHAUSTED, 429],
  [Status.UNIMPLEMENTED, 501],
  [Status.UNAVAILABLE, 503],
]);

/** An error the gateway itself answers with: a gRPC code, and the HTTP status when it is not the code's (405, 413). */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  constructor(
    readonly code: Status,
    message: string,
    readonly httpStatus: number = httpStatusOf(code),
    /** Extra response headers, e.g. Allow for 405. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** How a failed call is answered over REST: the HTTP status, a google.rpc.Status as JSON and the response metadata. */
export interface ErrorAnswer {
  readonly httpStatus: number;
  readonly code: number;
  readonly message: string;
  /** google.rpc.Status in the proto3 JSON mapping: code, message, details (each an Any with "@type"). */
  readonly body: JsonObject;
  readonly headers: Readonly<Record<string, string>>;
  /** The backend's trailers, for Grpc-Trailer-* (undefined for errors the gateway made itself). */
  readonly trailer: Metadata | undefined;
  /** True for a fault of the gateway itself (logged with its stack, answered as INTERNAL). */
  readonly unexpected: boolean;
}

/** Builds error bodies; needs google.rpc.Status and google.rpc.BadRequest in the registry. */
export class ErrorMapper {
  private readonly statusSchema: DescMessage;
  private readonly badRequestSchema: DescMessage;

  constructor(
    private readonly registry: Registry,
    private readonly write: Partial<JsonWriteOptions>,
  ) {
    this.statusSchema = this.message("google.rpc.Status");
    this.badRequestSchema = this.message("google.rpc.BadRequest");
  }

  private message(typeName: string): DescMessage {
    const schema = this.registry.getMessage(typeName);
    if (!schema) throw new Error(`the descriptor set lacks ${typeName}`);
    return schema;
  }

  /**
   * The answer to `error`: a backend's GrpcError keeps its code, message and details (decoded from
   * grpc-status-details-bin, so BadRequest field violations reach the client intact); the gateway's own errors get
   * their code (BindingError: INVALID_ARGUMENT with a BadRequest violation naming the field); anything else is a bug,
   * answered as INTERNAL "internal error" without its text.
   */
  answer(error: unknown): ErrorAnswer {
    if (error instanceof GrpcError) {
      const raw = error.metadata.get("grpc-status-details-bin")[0];
      let status: Message | undefined;
      if (raw instanceof Buffer) {
        try {
          status = fromBinary(this.statusSchema, raw);
        } catch {
          status = undefined;
        }
      }
      const body = this.json(status, error.code, error.message);
      return {
        httpStatus: httpStatusOf(error.code),
        code: error.code,
        message: error.message,
        body,
        headers: error.code === Status.UNAUTHENTICATED ? { "www-authenticate": error.message } : {},
        trailer: error.metadata,
        unexpected: false,
      };
    }
    if (error instanceof BindingError) {
      const detail = anyPack(
        this.badRequestSchema,
        create(this.badRequestSchema, {
          fieldViolations: [{ field: error.field, description: error.description }],
        }),
      );
      const status = create(this.statusSchema, {
        code: Status.INVALID_ARGUMENT,
        message: error.message,
        details: [detail],
      });
      return this.own(Status.INVALID_ARGUMENT, error.message, 400, {}, status);
    }
    if (error instanceof HeaderError || error instanceof MalformedPathError)
      return this.own(Status.INVALID_ARGUMENT, error.message, 400, {});
    if (error instanceof GatewayError) return this.own(error.code, error.message, error.httpStatus, error.headers);
    return { ...this.own(Status.INTERNAL, "internal error", 500, {}), unexpected: true };
  }

  /** google.rpc.Status with code 0, as JSON: how a Server-Sent Events stream says it ended well. */
  okStatus(): JsonObject {
    return this.json(undefined, Status.OK, "");
  }

  private own(
    code: number,
    message: string,
    httpStatus: number,
    headers: Readonly<Record<string, string>>,
    status?: Message,
  ): ErrorAnswer {
    return {
      httpStatus,
      code,
      message,
      body: this.json(status, code, message),
      headers,
      trailer: undefined,
      unexpected: false,
    };
  }

  /** The status as JSON; without its details when one of them is of a type the registry does not know. */
  private json(status: Message | undefined, code: number, message: string): JsonObject {
    if (status) {
      try {
        return toJson(this.statusSchema, status, this.write) as JsonObject;
      } catch {
        // An Any of an unknown type cannot be written as JSON: keep code and message.
      }
    }
    return toJson(this.statusSchema, create(this.statusSchema, { code, message }), this.write) as JsonObject;
  }
}
