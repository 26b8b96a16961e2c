/**
 * The local side of RedisProvider's pub/sub: which subscribe() calls use which glob pattern, and
 * delivery of `pmessage` events to them. The broker sees each pattern once, whatever the number
 * of local users: a pattern is PSUBSCRIBEd on its first user and PUNSUBSCRIBEd when its last one
 * leaves, never while another local subscription still needs it.
 */
import type { BrokerEvent, EventsHandler, ProviderCounters } from "../provider.js";
import { compileGlob, type TopicMatcher } from "../subject.js";
import type { PubSubClient } from "./options.js";

/** One subscribe() call: its distinct patterns and its handler. */
export class RedisLocalSubscription {
  active = true;
  /** One matcher per pattern, to deliver each message once (see deliver). */
  private readonly matchers: readonly TopicMatcher[];

  constructor(
    /** Distinct patterns. */
    readonly patterns: readonly string[],
    private readonly onEvents: EventsHandler,
    private readonly onError: ((err: Error) => void) | undefined,
    private readonly counters: ProviderCounters,
  ) {
    this.matchers = patterns.map(compileGlob);
  }

  /**
   * Redis sends one `pmessage` per matching pattern, so a message matching two patterns of this
   * subscription arrives twice; only the copy for its first matching pattern is delivered.
   */
  deliver(index: number, channel: string, data: Uint8Array): void {
    if (!this.active) return;
    for (let i = 0; i < index; i++) if (this.matchers[i]!(channel)) return;
    this.counters.received++;
    const event: BrokerEvent = { topic: channel, data };
    // An exception escaping an ioredis event listener is rethrown on the next tick, which would
    // crash the process: a throwing handler is a bug above us, reported to its owner instead.
    try {
      this.onEvents([event]);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Counts `err` and tells the subscriber's onError, if any. */
  fail(err: unknown): void {
    this.counters.errors++;
    try {
      this.onError?.(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // the error handler failed too; counted already
    }
  }
}

interface PatternEntry {
  /** Local subscriptions using the pattern, with the pattern's index in each. */
  readonly users: Map<RedisLocalSubscription, number>;
  /** The broker's answer to the latest PSUBSCRIBE of this pattern, when one was sent. */
  acked?: Promise<void>;
}

/** Reference counts of patterns across local subscriptions, and `pmessage` dispatch. */
export class PatternTable {
  private readonly entries = new Map<string, PatternEntry>();

  /** Registers `sub`; returns the patterns it is the first user of (to PSUBSCRIBE). */
  add(sub: RedisLocalSubscription): string[] {
    const fresh: string[] = [];
    sub.patterns.forEach((pattern, i) => {
      let entry = this.entries.get(pattern);
      if (!entry) {
        entry = { users: new Map() };
        this.entries.set(pattern, entry);
        fresh.push(pattern);
      }
      entry.users.set(sub, i);
    });
    return fresh;
  }

  /** Unregisters `sub`; returns the patterns nobody uses any more (to PUNSUBSCRIBE). */
  remove(sub: RedisLocalSubscription): string[] {
    const gone: string[] = [];
    for (const pattern of sub.patterns) {
      const entry = this.entries.get(pattern);
      if (!entry?.users.delete(sub)) continue;
      if (entry.users.size === 0) {
        this.entries.delete(pattern);
        gone.push(pattern);
      }
    }
    return gone;
  }

  /**
   * Sends PSUBSCRIBE for `patterns` on `client` and records the pending answer, which every user
   * of those patterns can wait for (see acks). A failure goes to `onError`.
   */
  psubscribe(client: PubSubClient, patterns: readonly string[], onError: (err: unknown) => void): void {
    if (patterns.length === 0) return;
    const acked = client.psubscribe(...patterns).then(() => undefined);
    acked.catch(onError);
    for (const p of patterns) {
      const entry = this.entries.get(p);
      if (entry) entry.acked = acked;
    }
  }

  /** The pending or settled PSUBSCRIBE answers for `patterns`. */
  acks(patterns: readonly string[]): Promise<void>[] {
    return patterns.flatMap((p) => {
      const acked = this.entries.get(p)?.acked;
      return acked ? [acked] : [];
    });
  }

  patterns(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** A `pmessage` for `pattern` arrived: every local user of it gets the message. */
  dispatch(pattern: string, channel: string, data: Uint8Array): void {
    const entry = this.entries.get(pattern);
    if (!entry) return; // PUNSUBSCRIBEd meanwhile: the broker had it in flight
    for (const [sub, index] of entry.users) sub.deliver(index, channel, data);
  }

  /** Deactivates every subscription and forgets them (provider stop). */
  clear(): void {
    for (const entry of this.entries.values()) for (const sub of entry.users.keys()) sub.active = false;
    this.entries.clear();
  }
}
