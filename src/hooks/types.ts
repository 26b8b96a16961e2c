/**
 * The types hook authors write against (docs/hooks.md; spec contract "Hooks"). Exported from
 * `streamgate` (types only) and `streamgate/hooks`. Nothing here imports server code: a hook
 * module that imports these pulls no router into its process beyond what it already runs in.
 */

/** What a hook that returns nothing returns (a function without `return` is typed void). */
// biome-ignore lint/suspicious/noConfusingVoidType: hooks may be written without a return statement
export type Nothing = undefined | void;

/** JSON object data: what an event or a published payload holds. */
export type JsonObject = Record<string, unknown>;

/** What every hook is told about the request it runs for. */
export interface HookContext {
  /** The verified token's claims; null for an anonymous client (and in onReceiveEvents). */
  readonly claims: Readonly<Record<string, unknown>> | null;
  /**
   * Headers of the client's HTTP request or WebSocket upgrade, names lower-cased; `hooks.headers`
   * says which are kept. Empty in onReceiveEvents (it runs for a trigger, not for a client).
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The WebSocket `connection_init` payload; null over HTTP and in onReceiveEvents. */
  readonly connectionParams: Readonly<Record<string, unknown>> | null;
  /** The operation name the client sent, or null. */
  readonly operationName: string | null;
  /** The operation's variables (coerced for subscriptions); `{}` in onReceiveEvents. */
  readonly variables: Readonly<Record<string, unknown>>;
  /** The root field name (`employeeUpdated`, `updateEmployee`). */
  readonly field: string;
  /** The EDFS provider id of the field. */
  readonly providerId: string;
  /** Aborted when this call's timeout passes: hand it to fetch() and the like. */
  readonly signal: AbortSignal;
}

/** One broker event as hooks see it. */
export interface HookEvent {
  /** The event's JSON body (for onDeliver: a copy of it, changes to it are ignored: return `{ data }`). */
  readonly data: JsonObject;
  /** NATS or Kafka headers (`{}` for brokers without them). */
  readonly headers: Readonly<Record<string, string>>;
  /** The concrete topic, subject or channel it came on. */
  readonly topic: string;
  /** The Kafka record key as UTF-8 text; null elsewhere. */
  readonly key: string | null;
}

/** An event a hook hands back: `data` is required, `headers` optional. */
export interface HookEventResult {
  readonly data: JsonObject;
  readonly headers?: Readonly<Record<string, string>>;
}

export type SubscriptionCreateContext = HookContext & {
  /** The topics the field's templates rendered for this subscription, sorted. */
  readonly topics: readonly string[];
};
/** New topics (checked like rendered templates), or nothing to keep them. */
export type SubscriptionCreateResult = { readonly topics: readonly string[] } | Nothing;

export type SubscriptionStartContext = HookContext & {
  readonly topics: readonly string[];
  /**
   * Sends an event to this subscriber only, resolved like a broker event, before any live event.
   * Valid until the hook returns.
   */
  emit(event: JsonObject): void;
};

export type ReceiveEventsContext = HookContext & {
  readonly topic: string;
  readonly events: readonly HookEvent[];
};
/**
 * The events to dispatch: fewer drops, changed `data` maps. Return the objects you got (or
 * copies made with `{ ...event, data }`) so they keep their broker position. Nothing = unchanged.
 */
export type ReceiveEventsResult = readonly HookEventResult[] | Nothing;

export type DeliverContext = HookContext & {
  /** The subscription's topics (after onSubscriptionCreate). */
  readonly topics: readonly string[];
  readonly event: HookEvent;
};
/** `{ data }` replaces the event's data; `null` or `false` drops it; nothing keeps it. */
export type DeliverResult = { readonly data: JsonObject } | null | false | Nothing;

/**
 * In onPublish `headers` are the broker message's (what the contract's `ctx & { headers }` says):
 * `{}` for the first module, then what earlier modules set. The request's own headers, which are
 * `ctx.headers` in the other hooks, are `requestHeaders` here.
 */
export type PublishContext = Omit<HookContext, "headers"> & {
  readonly topic: string;
  /** A copy of the payload (every argument of the mutation by name): return `{ data }` to change it. */
  readonly data: JsonObject;
  readonly headers: Readonly<Record<string, string>>;
  readonly requestHeaders: Readonly<Record<string, string>>;
  /** The Kafka key an earlier module set, if any. */
  readonly key?: string;
};
/** Changed data, headers to set on the broker message, a Kafka key; nothing = publish as is. */
export type PublishResult =
  | {
      readonly data?: JsonObject;
      readonly headers?: Readonly<Record<string, string>>;
      readonly key?: string;
    }
  | Nothing;

type MaybePromise<T> = T | Promise<T>;

export type DeliverHandler = (ctx: DeliverContext) => MaybePromise<DeliverResult>;

/**
 * onDeliver with its scope. `group` (the default): one call per resolution group and per value of
 * `groupBy(ctx)` (default: the whole claims object), so 10k subscribers of one operation and one
 * role cost one call per event; the hook is given one of those subscribers' context, so it must
 * read only what `groupBy` covers. `subscriber`: one call per subscriber per event.
 */
export interface DeliverHook {
  readonly scope?: "group" | "subscriber";
  /** Synchronous; its result is compared as JSON. */
  readonly groupBy?: (ctx: HookContext) => unknown;
  readonly handler: DeliverHandler;
}

/** A hook module's default export. */
export interface StreamHooks {
  onSubscriptionCreate?(ctx: SubscriptionCreateContext): MaybePromise<SubscriptionCreateResult>;
  onSubscriptionStart?(ctx: SubscriptionStartContext): MaybePromise<void>;
  onReceiveEvents?(ctx: ReceiveEventsContext): MaybePromise<ReceiveEventsResult>;
  onDeliver?: DeliverHandler | DeliverHook;
  onPublish?(ctx: PublishContext): MaybePromise<PublishResult>;
}

/** The names a module may export; anything else is a start-up error. */
export const HOOK_NAMES = [
  "onSubscriptionCreate",
  "onSubscriptionStart",
  "onReceiveEvents",
  "onDeliver",
  "onPublish",
] as const;

export type HookName = (typeof HOOK_NAMES)[number];

/**
 * What a hook throws to refuse. `code` goes to the GraphQL error's `extensions.code` (and makes
 * `message` public; without a code the client sees a generic message). `closeCode` (4000-4999)
 * in onSubscriptionStart closes the client's WebSocket with that code.
 */
export interface HookRefusal extends Error {
  readonly code?: string;
  readonly closeCode?: number;
}
