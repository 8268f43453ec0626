export * from "./details.js";
export * from "./domain.js";
export * from "./factories.js";
export * from "./grpc-error.js";
export * from "./status-codes.js";
export * from "./to-grpc-error.js";
export * from "./status-of.js";
