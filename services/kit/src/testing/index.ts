export * from "./start-test-service.js";
export * from "./calls.js";
export * from "./database.js";
export * from "./wait.js";
export * from "./declaration.js";
export * from "./own-servers.js";
export * from "./faults.js";
