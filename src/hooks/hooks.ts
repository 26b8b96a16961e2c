/**
 * The stream hooks of the loaded modules (docs/hooks.md), as the engine calls them: one small
 * method per point of an event's life, each a clearly named call site (trace spans may wrap them).
 * Modules run in config order; each hook of each module has its own limits and counters
 * (runner.ts). A router without modules has no HookSet at all, so it pays nothing per event.
 */
import type { HooksConfig, HookFailurePolicy, HookLimitsConfig } from "../config/types.js";
import { stableJson } from "../engine/variables.js";
import { ErrorCode, StreamgateError } from "../errors.js";
import type { GroupResolver, TriggerReceive } from "../fanout/triggers.js";
import type { Logger } from "../observability/logger.js";
import type { SkipReason } from "../planner/event.js";
import { deliverResolver } from "./deliver.js";
import { FailureLog } from "./failures.js";
import type { LoadedModule } from "./load.js";
import { receiveTransform } from "./receive.js";
import { type HookRequest, triggerRequest } from "./request.js";
import { createResult, emittedEvent, type PublishOutcome, publishResult } from "./results.js";
import { HookCaller, type HookCallStats, HookFailure } from "./runner.js";
import type { HookName, JsonObject } from "./types.js";

/** Events one onSubscriptionStart call may emit. */
export const MAX_EMITS = 1000;

export interface HookSetOptions {
  readonly config: HooksConfig;
  /** limits.max_message_size: the largest data a hook may hand back, as JSON. */
  readonly maxBytes: number;
  readonly logger: Logger;
}

interface DeliverStage {
  readonly caller: HookCaller;
  readonly scope: "group" | "subscriber";
  readonly groupBy: ((ctx: never) => unknown) | undefined;
}

const LIMIT_KEYS: Record<HookName, keyof HooksConfig> = {
  onSubscriptionCreate: "on_subscription_create",
  onSubscriptionStart: "on_subscription_start",
  onReceiveEvents: "on_receive_events",
  onDeliver: "on_deliver",
  onPublish: "on_publish",
};

export class HookSet {
  private readonly callers = new Map<HookName, HookCaller[]>();
  private readonly deliverStages: DeliverStage[] = [];
  private readonly failures: FailureLog;
  private perSubscriber = 0;
  private readonly receivers = new Map<string, TriggerReceive>();

  constructor(
    modules: readonly LoadedModule[],
    private readonly o: HookSetOptions,
  ) {
    this.failures = new FailureLog(o.logger);
    for (const m of modules) {
      for (const [name, hook] of Object.entries(m.hooks) as [HookName, unknown][]) {
        const own = o.config[LIMIT_KEYS[name]] as HookLimitsConfig;
        const limits = {
          timeoutMs: own.timeout ?? o.config.timeout,
          maxConcurrency: own.max_concurrency ?? o.config.max_concurrency,
        };
        const d =
          name === "onDeliver" ? (hook as NonNullable<LoadedModule["hooks"]["onDeliver"]>) : undefined;
        const fn = (d ? d.handler : hook) as (ctx: never) => unknown;
        const caller = new HookCaller(m.label, name, fn, limits);
        this.callers.set(name, [...(this.callers.get(name) ?? []), caller]);
        if (d) this.deliverStages.push({ caller, scope: d.scope, groupBy: d.groupBy });
      }
    }
  }

  has(name: HookName): boolean {
    return this.callers.has(name);
  }

  /** Whether any hook gets a request context (all but onReceiveEvents): then headers are kept. */
  get needsRequest(): boolean {
    return [...this.callers.keys()].some((n) => n !== "onReceiveEvents");
  }

  /** Counters of every (module, hook), for /metrics. */
  stats(): readonly HookCallStats[] {
    return [...this.callers.values()].flat().map((c) => c.stats);
  }

  /** Logs a failure (throttled per module and hook). */
  report = (err: unknown, fields: Record<string, unknown> = {}): void => this.failures.report(err, fields);

  /**
   * onSubscriptionCreate: the topics after every module (each sees the previous one's), or
   * undefined when none changed them. The caller checks them for the broker. Rejects with a
   * HookFailure.
   */
  async onSubscriptionCreate(
    request: HookRequest,
    topics: readonly string[],
  ): Promise<readonly string[] | undefined> {
    let current: readonly string[] | undefined;
    for (const caller of this.callers.get("onSubscriptionCreate") ?? []) {
      const given = Object.freeze([...(current ?? topics)]);
      const result = await caller.call((signal) => ({ ...request, signal, topics: given }));
      const checked = createResult(result);
      if (!checked.ok) throw caller.refused(checked.reason);
      if (checked.value) current = checked.value;
    }
    return current;
  }

  /**
   * onSubscriptionStart of every module in order; `emit` gets each emitted event, checked. A
   * throwing hook rejects with a HookFailure (the caller ends the subscription).
   */
  async onSubscriptionStart(
    request: HookRequest,
    topics: readonly string[],
    emit: (event: JsonObject) => void,
  ): Promise<void> {
    for (const caller of this.callers.get("onSubscriptionStart") ?? []) {
      let open = true;
      let emitted = 0;
      const send = (event: unknown): void => {
        if (!open) {
          this.report(caller.refused("emit() called after the hook returned; ignored"));
          return;
        }
        // Thrown at the hook: its author sees the problem where it is.
        if (++emitted > MAX_EMITS)
          throw new StreamgateError(ErrorCode.HOOK_FAILED, `at most ${MAX_EMITS} events may be emitted`);
        const checked = emittedEvent(event, this.o.maxBytes);
        if (!checked.ok) throw new StreamgateError(ErrorCode.HOOK_FAILED, checked.reason);
        emit(checked.value);
      };
      try {
        await caller.call((signal) => ({ ...request, signal, topics, emit: send }));
      } finally {
        open = false;
      }
    }
  }

  /**
   * onReceiveEvents as a trigger's batch transform; the trigger is per field (`key`). One per
   * (field, provider), made once: every subscription asks, only a new trigger uses it.
   */
  receiver(field: string, providerId: string): TriggerReceive {
    const key = `${providerId}\u0000${field}`;
    let receive = this.receivers.get(key);
    if (!receive) {
      receive = this.makeReceiver(field, providerId);
      this.receivers.set(key, receive);
    }
    return receive;
  }

  private makeReceiver(field: string, providerId: string): TriggerReceive {
    return {
      key: field,
      transform: receiveTransform({
        callers: this.callers.get("onReceiveEvents") ?? [],
        request: triggerRequest(field, providerId),
        policy: this.policy("on_receive_events"),
        maxBytes: this.o.maxBytes,
        report: this.report,
      }),
    };
  }

  /**
   * What splits resolution groups for onDeliver: one group per value of each module's `groupBy`
   * (default the claims), or one per subscriber when a module asks for it. Throws a HookFailure
   * when a `groupBy` throws or gives something JSON cannot hold.
   */
  deliverKey(request: HookRequest): string {
    const parts: string[] = [];
    for (const stage of this.deliverStages) {
      if (stage.scope === "subscriber") return `\u0006#${++this.perSubscriber}`;
      let value: unknown;
      try {
        value = stage.groupBy ? stage.groupBy(request as never) : request.claims;
        if (value instanceof Promise)
          throw new StreamgateError(ErrorCode.HOOK_FAILED, "groupBy must return a value, not a promise");
        parts.push(stableJson(value ?? null));
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        throw stage.caller.refused(`onDeliver.groupBy failed: ${text}`);
      }
    }
    return `\u0006${parts.join("\u0006")}`;
  }

  /** `inner` behind every module's onDeliver. */
  deliverer(
    inner: GroupResolver,
    request: HookRequest,
    topics: readonly string[],
    skipped: (reason: SkipReason) => void,
  ): GroupResolver {
    return deliverResolver(inner, {
      callers: this.deliverStages.map((s) => s.caller),
      request,
      topics,
      policy: this.policy("on_deliver"),
      maxBytes: this.o.maxBytes,
      skipped,
      report: this.report,
    });
  }

  /**
   * onPublish of every module in order: the message as it goes to the broker. Each module sees
   * the data and the message headers the previous ones left (`ctx.headers`; the request's are
   * `ctx.requestHeaders`); returned headers are set on top. Rejects with a HookFailure.
   */
  async onPublish(request: HookRequest, topic: string, data: JsonObject): Promise<PublishOutcome> {
    let current: { data: JsonObject; headers: Record<string, string>; key: string | undefined } = {
      data,
      headers: {},
      key: undefined,
    };
    for (const caller of this.callers.get("onPublish") ?? []) {
      const { data: d, headers, key } = current;
      const result = await caller.call((signal) => ({
        ...request,
        requestHeaders: request.headers,
        signal,
        topic,
        data: structuredClone(d),
        headers: { ...headers },
        ...(key !== undefined ? { key } : {}),
      }));
      const checked = publishResult(result, this.o.maxBytes);
      if (!checked.ok) throw caller.refused(checked.reason);
      const v = checked.value;
      current = {
        data: v.data ?? d,
        headers: v.headers ? { ...headers, ...v.headers } : headers,
        key: v.key ?? key,
      };
    }
    return current;
  }

  private policy(key: "on_receive_events" | "on_deliver"): HookFailurePolicy {
    return this.o.config[key].failure_policy;
  }
}

export { HookFailure };
