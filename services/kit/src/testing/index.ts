export * from "./start-test-service.js";
export * from "./calls.js";
