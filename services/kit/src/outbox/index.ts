export * from "./jetstream.js";
export * from "./relay.js";
export * from "./start-relay.js";
export * from "./consume.js";
