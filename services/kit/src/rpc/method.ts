/** The four shapes of a gRPC call, named as go-grpc-prometheus labels them (grpc_type). */
export type MethodKind = "unary" | "client_stream" | "server_stream" | "bidi_stream";

/** What every interceptor and log line knows about the method being called. */
export interface MethodInfo {
  /** Fully qualified service name, e.g. "lattice.greeter.v1.GreeterService". */
  readonly service: string;
  /** Method name as in the .proto file, e.g. "Greet". */
  readonly name: string;
  /** HTTP/2 path, e.g. "/lattice.greeter.v1.GreeterService/Greet". */
  readonly path: string;
  readonly kind: MethodKind;
  /** The client sends a stream of messages (client_stream, bidi_stream). */
  readonly requestStream: boolean;
  /** The server sends a stream of messages (server_stream, bidi_stream). */
  readonly responseStream: boolean;
}

export function methodKind(requestStream: boolean, responseStream: boolean): MethodKind {
  if (requestStream) return responseStream ? "bidi_stream" : "client_stream";
  return responseStream ? "server_stream" : "unary";
}

/** Splits "/pkg.Service/Method" into its parts; throws on anything else. */
export function methodInfo(path: string, requestStream: boolean, responseStream: boolean): MethodInfo {
  const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
  if (!match?.[1] || !match[2]) throw new Error(`not a gRPC method path: ${JSON.stringify(path)}`);
  return {
    service: match[1],
    name: match[2],
    path,
    kind: methodKind(requestStream, responseStream),
    requestStream,
    responseStream,
  };
}
