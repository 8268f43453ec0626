export * from "./call-options.js";
export * from "./create-client.js";
