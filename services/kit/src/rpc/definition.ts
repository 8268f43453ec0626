import type { MethodDefinition } from "@grpc/grpc-js";

/**
 * Types that turn a generated service definition (ts-proto's `outputServices=grpc-js`) into the shapes Lattice
 * code works with. Request and response types come from the definition, so a handler cannot drift from its
 * contract.
 */

// Serializers are contravariant in their message type, so only `any` accepts every concrete definition here; it
// never escapes: the mapped types below recover the concrete request and response types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethodDefinition = MethodDefinition<any, any>;
export type AnyServiceDefinition = Readonly<Record<string, AnyMethodDefinition>>;

export type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer Req } ? Req : never;
export type ResponseOf<M> = M extends { responseDeserialize: (bytes: Buffer) => infer Res } ? Res : never;

export type IsRequestStream<M> = M extends { requestStream: true } ? true : false;
export type IsResponseStream<M> = M extends { responseStream: true } ? true : false;
