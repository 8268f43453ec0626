export * from "./migrate.js";
export * from "./pool.js";
export * from "./open-database.js";
