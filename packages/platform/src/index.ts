export * from "./types.js";
export * from "./config.js";
export * from "./logger.js";
export * from "./db.js";
export * from "./outbox.js";
export * from "./inbox.js";
export * from "./bus/index.js";
