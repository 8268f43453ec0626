/**
 * What the generated messages (proto/gen/ts) encode and decode with: `npm run generate` points their
 * `@bufbuild/protobuf/wire` import here. The writer is Lattice's (binary-writer.ts); the reader is
 * @bufbuild/protobuf's.
 */
export { BinaryWriter } from "./binary-writer.js";
export { BinaryReader } from "@bufbuild/protobuf/wire";
