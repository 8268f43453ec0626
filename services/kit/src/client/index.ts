export * from "./call-options.js";
export * from "./create-client.js";
export * from "./load-balancing.js";
