/**
 * `streamgate/hooks`: what a hook module may import at run time. Only types and an identity
 * helper: no server module is reachable from here (test/unit/hooks/public.test.ts bundles it).
 */
import type { StreamHooks } from "./types.js";

export type {
  DeliverContext,
  DeliverHandler,
  DeliverHook,
  DeliverResult,
  HookContext,
  HookEvent,
  HookEventResult,
  HookName,
  HookRefusal,
  JsonObject,
  PublishContext,
  PublishResult,
  ReceiveEventsContext,
  ReceiveEventsResult,
  StreamHooks,
  SubscriptionCreateContext,
  SubscriptionCreateResult,
  SubscriptionStartContext,
} from "./types.js";
export { HOOK_NAMES } from "./types.js";

/** Returns `hooks` as it is, typed: `export default defineHooks({ onSubscriptionCreate(ctx) { … } })`. */
export function defineHooks<T extends StreamHooks>(hooks: T): T {
  return hooks;
}

/**
 * An error that refuses with a code of your choosing (sent as `extensions.code` with its message)
 * and, from onSubscriptionStart, optionally closes the WebSocket with `closeCode` (4000-4999).
 */
export class HookError extends Error {
  readonly code: string;
  readonly closeCode: number | undefined;
  constructor(code: string, message: string, options?: { closeCode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HookError";
    this.code = code;
    this.closeCode = options?.closeCode;
  }
}
