export * from "./interceptor.js";
export * from "./logging.js";
export * from "./metrics.js";
export * from "./recovery.js";
