/**
 * The writer side of a session-buffer log: broker events queue up and are appended in batches,
 * one lease-fenced script call per batch (scripts.ts, APPEND), with a gap marker first whenever
 * events may have been lost before them. Only the instance holding the log's lease calls this.
 */
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import type { BrokerEvent } from "../../providers/provider.js";
import type { BufferLog } from "./log.js";
import type { BufferCounters } from "./stats.js";
import type { BufferStore } from "./store.js";

/** Events appended per script call. */
const APPEND_BATCH = 256;
/** Events a writer keeps waiting for Redis before it drops the oldest (and appends a gap marker). */
const MAX_PENDING = 10_000;
/** A log this full (of max_events) is worth a warning: clients away longer will get a gap. */
const HIGH_WATER = 0.8;

/** What appending needs from the buffer around it. */
export interface WriterContext {
  readonly providerId: string;
  readonly store: BufferStore;
  readonly me: string;
  readonly maxEvents: number;
  readonly ttlMs: number;
  readonly counters: BufferCounters;
  readonly logger: Logger;
  /** The buffer failed: everything goes at most once until it is back. */
  down(why: string): void;
}

/** Queues broker events for appending (the writer's broker subscription calls this). */
export function enqueue(ctx: WriterContext, log: BufferLog, events: readonly BrokerEvent[]): void {
  log.pending.push(...events);
  const over = log.pending.length - MAX_PENDING;
  if (over > 0) {
    // Redis cannot keep up: keep the newest, and say in the log that some are missing.
    log.pending.splice(0, over);
    log.needsMarker = true;
    ctx.counters.dropped += over;
  }
  void flush(ctx, log);
}

/** Appends what is pending (and a gap marker if one is due); resolves when nothing is left. */
export function flush(ctx: WriterContext, log: BufferLog): Promise<void> {
  log.flushing ??= appendLoop(ctx, log).finally(() => {
    log.flushing = undefined;
    // Events that came while the loop was finishing.
    if (log.pending.length > 0 && log.writer && !log.direct) void flush(ctx, log);
  });
  return log.flushing;
}

async function appendLoop(ctx: WriterContext, log: BufferLog): Promise<void> {
  while (log.writer && !log.direct && (log.pending.length > 0 || log.needsMarker)) {
    const batch = log.pending.splice(0, APPEND_BATCH);
    const marker = log.needsMarker;
    log.needsMarker = false;
    let result: Awaited<ReturnType<BufferStore["append"]>>;
    try {
      result = await ctx.store.append(log.keys, ctx.me, ctx.maxEvents, ctx.ttlMs, marker, batch);
    } catch (err) {
      ctx.counters.dropped += batch.length;
      ctx.down(errorMessage(err));
      // No reader will see these: local clients get them straight (at most once).
      log.deliver(batch);
      return;
    }
    if (result === "not-writer") {
      // The lease ran out and another instance took it: it writes from now on.
      ctx.counters.dropped += batch.length + log.pending.length;
      log.writer = false;
      log.pending = [];
      return;
    }
    ctx.counters.appended += batch.length;
    if (marker) ctx.counters.gapMarkers++;
    checkFill(ctx, log, result.length);
  }
}

function checkFill(ctx: WriterContext, log: BufferLog, length: number): void {
  if (length < HIGH_WATER * ctx.maxEvents) {
    log.warnedFull = false;
    return;
  }
  if (log.warnedFull) return;
  log.warnedFull = true;
  ctx.counters.highWater++;
  ctx.logger.warn(
    { provider: ctx.providerId, topics: log.topics, log: log.keys.id, length, max_events: ctx.maxEvents },
    "session buffer log is 80% full: a client away for more than max_events events gets a gap",
  );
}
