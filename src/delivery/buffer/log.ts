/**
 * What one instance holds for one session-buffer log (one broker subscription of a buffered
 * provider): its local subscribers, where it stands reading the log, whether it is the log's
 * writer, and the events waiting to be appended. State changes of a log run one at a time
 * through {@link BufferLog.serial}; provider.ts decides them.
 */
import type { BrokerEvent, EventsHandler, Unsubscribe } from "../../providers/provider.js";
import type { LogEntry, LogKeys } from "./codec.js";

/** One local subscriber (the topic registry's listener); an object so the same function may join twice. */
export interface LocalHandler {
  readonly onEvents: EventsHandler;
}

export class BufferLog {
  readonly handlers = new Set<LocalHandler>();
  /** The broker subscription: held while there are local subscribers or this instance writes. */
  broker: Unsubscribe | undefined;
  /** This instance holds the log's lease: it alone appends. */
  writer = false;
  /** Deliver broker events straight to local subscribers: the buffer is unavailable (at most once). */
  direct = false;
  /** Stream id after which the reader continues; undefined while not reading. */
  readFrom: string | undefined;
  /** A gap marker was read: the next event delivered carries `gap`. */
  gapPending = false;
  /** The next append starts with a gap marker (events may have been lost before it). */
  needsMarker = false;
  /** Broker events waiting to be appended (writer only). */
  pending: BrokerEvent[] = [];
  /** The append loop running now, if any. */
  flushing: Promise<void> | undefined;
  /** Warned that the log is 80% full; re-armed when it is below again. */
  warnedFull = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly keys: LogKeys,
    readonly topics: readonly string[],
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Runs `step` after every step queued before it; a failing step does not stop the next. */
  serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.chain.then(step);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Hands events to every local subscriber; one that throws or rejects is reported, not fatal. */
  deliver(events: readonly BrokerEvent[]): void {
    if (events.length === 0) return;
    for (const h of this.handlers) {
      try {
        const p = h.onEvents(events);
        if (p) p.catch(this.onError);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  /**
   * Delivers entries read from the log, in order: a gap marker delivers nothing, and the event
   * after it carries `gap`. Returns how many entries were not ours (skipped).
   */
  deliverEntries(entries: readonly LogEntry[]): number {
    const events: BrokerEvent[] = [];
    let invalid = 0;
    for (const e of entries) {
      if (e.kind === "invalid") invalid++;
      else if (e.kind === "gap") this.gapPending = true;
      else {
        events.push(this.gapPending ? { ...e.event, gap: true } : e.event);
        this.gapPending = false;
      }
    }
    this.deliver(events);
    return invalid;
  }
}
