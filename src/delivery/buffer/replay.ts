/**
 * Replay and heads from session-buffer logs (docs/delivery.md, "Session buffer"). A trigger's
 * topics map onto logs the way the topic registry maps them onto broker subscriptions
 * (brokerSources): one log per plain topic, one for a set of overlapping patterns. Each log is
 * read from the cursor's position + 1 up to its head at the time of the call, in pages; the live
 * read carries on from there and the seam is de-duplicated by position above the provider.
 */
import { brokerSources } from "../../fanout/keys.js";
import type { BrokerEvent, ReplayRequest } from "../../providers/provider.js";
import { idPrefix, type LogKeys, logKeys, parseEntries } from "./codec.js";
import type { BufferStore } from "./store.js";

/** Entries per XRANGE page. */
const PAGE = 256;

/** Where each log of `topics` stands now: its last position (logs that do not exist have none). */
export async function bufferHeads(
  store: BufferStore,
  providerId: string,
  topics: readonly string[],
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const source of brokerSources(topics)) {
    const keys = logKeys(providerId, source);
    const head = await store.head(keys);
    if (head?.position !== undefined) out[keys.id] = head.position;
  }
  return out;
}

/** Replays every log of `req.topics`; returns how many entries were not ours (skipped). */
export async function replayBuffer(
  store: BufferStore,
  providerId: string,
  req: ReplayRequest,
): Promise<number> {
  let invalid = 0;
  for (const source of brokerSources(req.topics)) {
    if (req.signal.aborted) break;
    const keys = logKeys(providerId, source);
    invalid += await replayLog(store, keys, req.after[keys.id], req);
  }
  return invalid;
}

/**
 * One log. A gap is reported when the log no longer holds `after + 1` (trimmed by max_events,
 * expired after ttl) and at every gap marker past `after` (the writer changed or could not
 * append): the events before the marker are delivered first, so the gap lands on the event
 * after it.
 */
async function replayLog(
  store: BufferStore,
  keys: LogKeys,
  after: number | undefined,
  req: ReplayRequest,
): Promise<number> {
  const head = await store.head(keys);
  const end = head === undefined ? undefined : idPrefix(head.id);
  if (end === undefined) {
    // No log: it expired (or never had an event). A client that had events of it missed some.
    if (after !== undefined) req.onGap();
    return 0;
  }
  const first = await store.first(keys);
  const start = first === undefined ? end : (idPrefix(first.id) ?? 0);
  if (after !== undefined && after + 1 < start) req.onGap();
  if (after !== undefined && after >= end) return 0;
  let from = after === undefined ? start : Math.max(after + 1, start);
  let invalid = 0;
  while (!req.signal.aborted && from <= end) {
    const entries = parseEntries(keys.id, await store.range(keys, from, end, PAGE));
    if (entries.length === 0) break;
    let batch: BrokerEvent[] = [];
    for (const e of entries) {
      if (e.kind === "invalid") invalid++;
      else if (e.kind === "event") batch.push(e.event);
      else if (after === undefined || e.position > after) {
        if (batch.length > 0) await req.onEvents(batch);
        batch = [];
        req.onGap();
      }
    }
    if (batch.length > 0 && !req.signal.aborted) await req.onEvents(batch);
    const last = entries.at(-1)!.id;
    const lastPrefix = last === undefined ? undefined : idPrefix(last);
    // An entry without a readable id (never from Redis itself) would loop: stop reading instead.
    if (lastPrefix === undefined) break;
    from = lastPrefix + 1;
  }
  return invalid;
}
