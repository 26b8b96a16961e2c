/**
 * onReceiveEvents as a trigger's batch transform: once per broker batch (per run of events on
 * one topic), before any group decodes or resolves, so 10k subscribers cost one call. Modules
 * run in order, each on what the previous returned. Events keep the broker position of the
 * input they came from (results.ts, ORIGIN); events that are not JSON objects never reach the
 * hook and go on to the groups as they would without hooks (an SG_ERR_EVENT_INVALID `next`).
 */
import type { HookFailurePolicy } from "../config/types.js";
import type { BatchTransform, TransformedEvent } from "../fanout/triggers.js";
import type { Decoded } from "../planner/event.js";
import type { PlanError } from "../planner/plan.js";
import type { BrokerEvent } from "../providers/provider.js";
import { hookErrors } from "./failures.js";
import { keyText, type HookRequest } from "./request.js";
import { ORIGIN, receiveResult } from "./results.js";
import type { HookCaller } from "./runner.js";
import type { HookEvent } from "./types.js";

/** An event as handed to a hook, tagged with where it came from (-1: the hook added it). */
type Tagged = HookEvent & { readonly [ORIGIN]: number };

export interface ReceiveOptions {
  readonly callers: readonly HookCaller[];
  readonly request: HookRequest;
  readonly policy: HookFailurePolicy;
  readonly maxBytes: number;
  readonly report: (err: unknown, fields: Record<string, unknown>) => void;
}

const EMPTY = new Uint8Array(0);

type RunResult =
  | { readonly ok: true; readonly events: TransformedEvent[] }
  | { readonly ok: false; readonly errors: readonly PlanError[] };

export function receiveTransform(o: ReceiveOptions): BatchTransform {
  return async (events, decoded) => {
    const out: TransformedEvent[] = [];
    let i = 0;
    // The contract gives a hook one topic per call: a batch over several (a wildcard
    // subscription) is cut into runs of consecutive events on one topic, order kept.
    while (i < events.length) {
      const topic = events[i]!.topic;
      let j = i + 1;
      while (j < events.length && events[j]!.topic === topic) j++;
      const run = await transformRun(o, events, decoded, i, j, topic);
      if (!run.ok) return run;
      out.push(...run.events);
      i = j;
    }
    return { ok: true, events: out };
  };
}

async function transformRun(
  o: ReceiveOptions,
  events: readonly BrokerEvent[],
  decoded: readonly Decoded[],
  from: number,
  to: number,
  topic: string,
): Promise<RunResult> {
  let current: Tagged[] = [];
  const invalid: TransformedEvent[] = [];
  for (let k = from; k < to; k++) {
    const d = decoded[k]!;
    const ev = events[k]!;
    if (d.ok) current.push(tag(d.value, ev.headers ?? {}, ev, k));
    else invalid.push({ decoded: d, raw: ev, source: k });
  }
  if (current.length === 0) return { ok: true, events: invalid };
  for (const caller of o.callers) {
    const given = current;
    let result: unknown;
    try {
      result = await caller.call((signal) => ({ ...o.request, signal, topic, events: given }));
    } catch (err) {
      return failed(o, caller, err, given.length, topic);
    }
    // Nothing returned means "as they are now": a hook that changed them in place is checked too.
    const checked = receiveResult(result ?? given, given, o.maxBytes);
    if (!checked.ok) return failed(o, caller, caller.refused(checked.reason), given.length, topic);
    const kept = new Set<number>();
    current = checked.value!.map((e) => {
      const origin = e.origin ?? -1;
      if (origin >= 0) kept.add(origin);
      return tag(e.data, e.headers, origin >= 0 ? events[origin]! : { topic, data: EMPTY }, origin);
    });
    caller.stats.dropped += given.filter((g) => g[ORIGIN] >= 0 && !kept.has(g[ORIGIN])).length;
  }
  const dispatched: TransformedEvent[] = current.map((e) => {
    const origin = e[ORIGIN];
    const base: BrokerEvent = origin >= 0 ? events[origin]! : { topic, data: EMPTY };
    return {
      decoded: { ok: true, value: e.data },
      // Later readers (onDeliver) see the headers the hooks left.
      raw: { ...base, headers: e.headers },
      source: origin >= 0 ? origin : undefined,
    };
  });
  return { ok: true, events: [...dispatched, ...invalid] };
}

function tag(
  data: HookEvent["data"],
  headers: HookEvent["headers"],
  ev: Pick<BrokerEvent, "topic" | "key">,
  origin: number,
): Tagged {
  return { data, headers, topic: ev.topic, key: keyText(ev.key), [ORIGIN]: origin };
}

function failed(
  o: ReceiveOptions,
  caller: HookCaller,
  err: unknown,
  events: number,
  topic: string,
): RunResult {
  o.report(err, { topic, events });
  if (o.policy === "error") return { ok: false, errors: hookErrors(err) };
  // skip: the run's events are not delivered; they still advance the trigger's cursors.
  caller.stats.dropped += events;
  return { ok: true, events: [] };
}
