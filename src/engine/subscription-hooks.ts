/**
 * The stream hooks' part of starting a subscription (docs/hooks.md): the topics a create hook
 * rewrote, checked like rendered templates, and the gate that holds live events while the start
 * hook runs and emits (the handle while a create hook decides is a PendingOperation).
 * Kept apart from subscriptions.ts so a router without hooks reads none of it.
 */
import { ErrorCode, publicCode, publicMessage } from "../errors.js";
import { GroupFailure, type GroupResolver } from "../fanout/triggers.js";
import { closeCodeOf, hookErrors } from "../hooks/failures.js";
import type { HookSet } from "../hooks/hooks.js";
import type { HookRequest } from "../hooks/request.js";
import type { JsonObject } from "../hooks/types.js";
import type { PlanError } from "../planner/plan.js";
import { checkRewrittenTopics } from "../planner/topics.js";
import type { ProviderKind } from "../providers/provider.js";
import { clientError } from "../errors.js";
import { type LimitCounter, limitError } from "../security/limits.js";
import type { EventMeta, OperationSink } from "./types.js";

/** Live events a subscription may hold while its start hook runs; more end it. */
export const MAX_HELD_EVENTS = 10_000;

/**
 * Holds live events while onSubscriptionStart runs: emitted events pass at once, live ones wait
 * until {@link open} (the DeliverySink's hold-then-release, for a hook instead of a replay).
 */
export class StartGate implements OperationSink {
  private held: [string, EventMeta | undefined][] | undefined = [];

  constructor(
    private readonly inner: OperationSink,
    /** Too many events arrived while held. */
    private readonly overflow: () => void,
  ) {}

  next(json: string, meta?: EventMeta): void {
    if (!this.held) {
      this.inner.next(json, meta);
      return;
    }
    if (this.held.length >= MAX_HELD_EVENTS) {
      this.held = undefined;
      this.overflow();
      return;
    }
    this.held.push([json, meta]);
  }

  /** Whether live events are held (the start hook has not finished). */
  get holding(): boolean {
    return this.held !== undefined;
  }

  /** An event emitted by the start hook: to this subscriber, now. */
  emitted(json: string): void {
    this.inner.next(json);
  }

  /** The start hook is done: the live events held go out, in order, and the rest as they come. */
  open(): void {
    const held = this.held;
    this.held = undefined;
    if (held) for (const [json, meta] of held) this.inner.next(json, meta);
  }

  error(errors: readonly PlanError[]): void {
    this.held = undefined;
    this.inner.error(errors);
  }

  complete(): void {
    this.held = undefined;
    this.inner.complete();
  }

  close(code: number, reason: string): void {
    this.held = undefined;
    this.inner.close?.(code, reason);
  }
}

/** What a refused rewrite tells the client (LIMIT_EXCEEDED is counted like a template's). */
export function rewriteRefusal(err: unknown, limits: LimitCounter): PlanError[] {
  const code = publicCode(err, ErrorCode.SUBJECT_INVALID);
  if (code === ErrorCode.LIMIT_EXCEEDED) {
    limits.refused("max_topics_per_subscription");
    return [limitError("max_topics_per_subscription", publicMessage(err, "too many topics"))];
  }
  return [clientError(code, `onSubscriptionCreate: ${publicMessage(err, "invalid topics")}`)];
}

/** Runs the create hooks and checks what they return; resolves with the topics to subscribe. */
export async function rewriteTopics(
  hooks: HookSet,
  request: HookRequest,
  kind: ProviderKind,
  topics: string[],
  maxTopics: number,
): Promise<string[]> {
  const rewritten = await hooks.onSubscriptionCreate(request, topics);
  return rewritten ? checkRewrittenTopics(kind, topics, rewritten, maxTopics) : topics;
}

export interface StartRun {
  readonly hooks: HookSet;
  readonly request: HookRequest;
  readonly topics: readonly string[];
  readonly resolver: GroupResolver;
  readonly gate: StartGate;
  /** Ends the subscription with `errors`, or closes the connection with `closeCode`. */
  readonly fail: (errors: readonly PlanError[], closeCode?: number) => void;
  readonly cancelled: () => boolean;
  readonly onError: (err: unknown) => void;
}

const EMPTY = new Uint8Array(0);

/**
 * onSubscriptionStart: emitted events are resolved through the subscription's own resolver, in
 * order, and sent before the gate opens. Resolves true once the gate is open, false when the
 * subscription ended (refused, or cancelled meanwhile).
 */
export async function runStartHooks(s: StartRun): Promise<boolean> {
  let chain: Promise<void> = Promise.resolve();
  const raw = { topic: s.topics[0] ?? "", data: EMPTY };
  const emit = (value: JsonObject): void => {
    const scope = { memo: new Map<string, unknown>(), receivedAt: performance.now() };
    // Resolution starts now (entity fetches overlap); a failure is held for the chain, never left
    // unhandled.
    const out = Promise.resolve()
      .then(() => s.resolver({ ok: true, value }, raw, scope))
      .then(
        (json) => ({ json }),
        (err: unknown) => ({ err }),
      );
    chain = chain.then(async () => {
      const r = await out;
      if ("err" in r) throw r.err;
      if (r.json !== null && !s.cancelled()) s.gate.emitted(r.json);
    });
  };
  try {
    await s.hooks.onSubscriptionStart(s.request, s.topics, emit);
  } catch (err) {
    s.hooks.report(err, { field: s.request.field });
    if (!s.cancelled()) s.fail(hookErrors(err), closeCodeOf(err));
    return false;
  }
  try {
    await chain;
  } catch (err) {
    if (s.cancelled()) return false;
    if (err instanceof GroupFailure) {
      s.fail(err.errors);
      return false;
    }
    s.onError(err);
  }
  if (s.cancelled()) return false;
  s.gate.open();
  return true;
}
