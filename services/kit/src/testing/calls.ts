import { GrpcError } from "../errors/grpc-error.js";

/** Every message of a stream, once it has ended. */
export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

/** The GrpcError a call failed with; throws if it succeeded or failed with anything else. */
export async function grpcErrorOf(call: Promise<unknown>): Promise<GrpcError> {
  let result: unknown;
  try {
    result = await call;
  } catch (error) {
    if (error instanceof GrpcError) return error;
    throw new Error(`expected a GrpcError, got ${String(error)}`, { cause: error });
  }
  throw new Error(`expected the call to fail, it answered ${JSON.stringify(result)}`);
}
