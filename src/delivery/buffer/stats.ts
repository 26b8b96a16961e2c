/**
 * The session buffer's counters, read by /metrics (src/observability/metrics.ts) at scrape time.
 * Kept in a module of its own with no imports, so the metrics code does not load ioredis.
 */

/** One buffered provider's figures; counters only grow. */
export interface SessionBufferStats {
  /** The buffer's Redis answers now (new subscriptions get at-least-once). */
  available: boolean;
  /** Times the buffer became unavailable (an outage, or unreachable at start). */
  unavailable: number;
  /** Subscriptions that started, or went on, at most once because the buffer was unavailable. */
  atMostOnce: number;
  /** Events this instance appended as a log's writer. */
  appended: number;
  /** Gap markers this instance appended (it took over a log, or could not append for a while). */
  gapMarkers: number;
  /** Broker events a writer could not append (the buffer failed, or too many were waiting). */
  dropped: number;
  /** Logs that reached 80% of max_events (once per log until it is below again). */
  highWater: number;
  /** Log entries that were not written by a buffer (skipped). */
  invalidEntries: number;
  /** Logs this instance holds (it reads them for local clients, or writes them). */
  logs: number;
  /** Logs this instance writes. */
  writing: number;
}

/** A provider that keeps a session buffer exposes its figures through this method. */
export interface SessionBuffered {
  sessionBuffer(): SessionBufferStats;
}

export function isSessionBuffered(p: object): p is SessionBuffered {
  return typeof (p as Partial<SessionBuffered>).sessionBuffer === "function";
}

/** The counters a buffer keeps as it goes (the rest of {@link SessionBufferStats} is read live). */
export type BufferCounters = Omit<SessionBufferStats, "available" | "logs" | "writing">;

export function newBufferCounters(): BufferCounters {
  return {
    unavailable: 0,
    atMostOnce: 0,
    appended: 0,
    gapMarkers: 0,
    dropped: 0,
    highWater: 0,
    invalidEntries: 0,
  };
}
