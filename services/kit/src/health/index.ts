export * from "./health-registry.js";
export { healthService, HealthService } from "./health-service.js";
export * from "./health-server.js";
export * from "./probe.js";
