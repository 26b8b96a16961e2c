/**
 * onDeliver, the per-subscriber point made cheap: it wraps a resolution group's resolver, so it
 * runs once per event per group, before the group resolves, and its answer (keep, map, drop) is
 * what the whole group gets. Groups are split by what the hook reads (its `groupBy`, default the
 * claims), or made per subscriber when the hook asks for it (hooks.ts, deliverKey). Emitted
 * events and replayed ones go through the same resolver, so through this hook too.
 */
import type { HookFailurePolicy } from "../config/types.js";
import { GroupFailure, type GroupResolver } from "../fanout/triggers.js";
import type { SkipReason } from "../planner/event.js";
import type { BrokerEvent } from "../providers/provider.js";
import { hookErrors } from "./failures.js";
import { keyText, type HookRequest } from "./request.js";
import { deliverResult } from "./results.js";
import type { HookCaller } from "./runner.js";
import type { JsonObject } from "./types.js";

export interface DeliverOptions {
  readonly callers: readonly HookCaller[];
  readonly request: HookRequest;
  readonly topics: readonly string[];
  readonly policy: HookFailurePolicy;
  readonly maxBytes: number;
  readonly skipped: (reason: SkipReason) => void;
  readonly report: (err: unknown, fields: Record<string, unknown>) => void;
}

const DROP = Symbol("drop");

/** `inner` behind the onDeliver hooks of every module, in order. */
export function deliverResolver(inner: GroupResolver, o: DeliverOptions): GroupResolver {
  return (decoded, raw, scope) => {
    // Not an object: the group reports it as invalid without asking the hook.
    if (!decoded.ok) return inner(decoded, raw, scope);
    return decide(o, decoded.value, raw).then((data) => {
      if (data === DROP) {
        o.skipped("hook");
        return null;
      }
      return inner(data === decoded.value ? decoded : { ok: true, value: data }, raw, scope);
    });
  };
}

async function decide(
  o: DeliverOptions,
  value: JsonObject,
  raw: BrokerEvent,
): Promise<JsonObject | typeof DROP> {
  let data = value;
  const headers = raw.headers ?? {};
  const key = keyText(raw.key);
  for (const caller of o.callers) {
    // A copy per call: the decoded event is shared by every group of the trigger.
    const event = { data: structuredClone(data), headers, topic: raw.topic, key };
    let outcome: ReturnType<typeof deliverResult>;
    try {
      const result = await caller.call((signal) => ({ ...o.request, signal, topics: o.topics, event }));
      outcome = deliverResult(result, o.maxBytes);
      if (!outcome.ok) throw caller.refused(outcome.reason);
    } catch (err) {
      o.report(err, { topic: raw.topic });
      if (o.policy === "error") throw new GroupFailure(hookErrors(err));
      caller.stats.dropped++;
      return DROP;
    }
    const v = outcome.value;
    if (v.kind === "drop") {
      caller.stats.dropped++;
      return DROP;
    }
    if (v.kind === "map") data = v.data;
  }
  return data;
}
