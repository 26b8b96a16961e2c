/** Public API: start a router in-process. */
export { configFromObject, loadConfigFile } from "./config/loader.js";
export type { Config } from "./config/types.js";
export { ErrorCode, StreamgateAggregateError, StreamgateError } from "./errors.js";
export { createLogger } from "./observability/logger.js";
export type { Router, RouterOptions } from "./router.js";
export { startRouter } from "./router.js";
/** Types for stream hook authors (the same as `streamgate/hooks`). */
export type * from "./hooks/public.js";
