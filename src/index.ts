/** Public API: start a router in-process. */
export { configFromObject, loadConfigFile } from "./config/loader.js";
export type { Config } from "./config/types.js";
export { ErrorCode, StreamgateAggregateError, StreamgateError } from "./errors.js";
export { createLogger } from "./observability/logger.js";
export type { Router, RouterOptions } from "./router.js";
export { startRouter } from "./router.js";
export type {
  DeliverContext,
  DeliverHook,
  DeliverResult,
  HookContext,
  HookEvent,
  HookEventResult,
  HookRefusal,
  PublishContext,
  PublishResult,
  ReceiveEventsContext,
  ReceiveEventsResult,
  StreamHooks,
  SubscriptionCreateContext,
  SubscriptionCreateResult,
  SubscriptionStartContext,
} from "./hooks/types.js";
