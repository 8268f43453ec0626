export * from "./health-registry.js";
export { healthService, HealthService } from "./health-service.js";
