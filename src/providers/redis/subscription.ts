/**
 * The local side of RedisProvider's pub/sub: which subscribe() calls use which Redis channel or
 * glob pattern, and delivery of `message` / `pmessage` events to them.
 *
 * A rendered channel without glob metacharacters matches exactly one channel, so it is sent as
 * `SUBSCRIBE` (one hash lookup per PUBLISH on the server) instead of `PSUBSCRIBE` (which Redis
 * tests against every PUBLISH); see {@link literalChannel}. The broker sees each channel and each
 * pattern once, whatever the number of local users: sent on its first user, `UNSUBSCRIBE`d /
 * `PUNSUBSCRIBE`d when its last one leaves, never while another local subscription needs it.
 */
import type { BrokerEvent, EventsHandler, ProviderCounters } from "../provider.js";
import { report } from "../common/errors.js";
import { compileGlob, type TopicMatcher } from "../subject.js";
import type { PubSubClient } from "./client.js";

/**
 * The one channel a Redis glob matches when it has no wildcard, or undefined for a real pattern.
 * Following Redis' `stringmatchlen`, an unescaped `*`, `?` or `[` makes a pattern (an unclosed
 * `[` too); `\x` is the literal `x` (so `a\*b` is the channel `a*b`), and a trailing lone `\` is a
 * literal backslash. Everything else, `]` `^` `-` included, is literal outside brackets.
 */
export function literalChannel(glob: string): string | undefined {
  if (!/[*?[\\]/.test(glob)) return glob;
  let literal = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" || c === "?" || c === "[") return undefined;
    literal += c === "\\" && i + 1 < glob.length ? glob[++i]! : c;
  }
  return literal;
}

/** What a set of subscriptions needs from the broker: exact channels and glob patterns. */
export interface BrokerNames {
  /** Literal channel names, for SUBSCRIBE / UNSUBSCRIBE. */
  readonly channels: readonly string[];
  /** Glob patterns, for PSUBSCRIBE / PUNSUBSCRIBE. */
  readonly patterns: readonly string[];
}

/** One subscribe() call: its distinct channels and patterns, and its handler. */
export class RedisLocalSubscription implements BrokerNames {
  active = true;
  readonly channels: readonly string[];
  readonly patterns: readonly string[];
  /** `channels` as a set: a `pmessage` for one of them is a duplicate (see deliverPattern). */
  private readonly exact: ReadonlySet<string>;
  /** One matcher per pattern, to deliver each message once (see deliverPattern). */
  private readonly matchers: readonly TopicMatcher[];

  constructor(
    /** Rendered channels as the schema gives them: globs, some of them without wildcards. */
    topics: readonly string[],
    private readonly onEvents: EventsHandler,
    private readonly onError: ((err: Error) => void) | undefined,
    private readonly counters: ProviderCounters,
  ) {
    const exact = new Set<string>();
    const patterns = new Set<string>();
    for (const topic of topics) {
      const literal = literalChannel(topic);
      if (literal === undefined) patterns.add(topic);
      else exact.add(literal);
    }
    this.exact = exact;
    this.channels = [...exact];
    this.patterns = [...patterns];
    this.matchers = this.patterns.map(compileGlob);
  }

  /** A `message` for one of this subscription's channels: always the copy that is delivered. */
  deliverExact(channel: string, data: Uint8Array): void {
    if (this.active) this.emit(channel, data);
  }

  /**
   * A `pmessage` for pattern `index`. Redis sends a subscriber one `message` if it SUBSCRIBEd the
   * channel plus one `pmessage` per matching pattern, so a message can reach this subscription
   * several times. Exactly one copy is delivered, chosen without any state: the `message` when the
   * channel is one of ours (deliverExact), else the `pmessage` of our first matching pattern.
   * While this subscription is active every one of its channels and patterns stays subscribed at
   * the broker (reference counts), so the chosen copy does arrive.
   */
  deliverPattern(index: number, channel: string, data: Uint8Array): void {
    if (!this.active || this.exact.has(channel)) return;
    for (let i = 0; i < index; i++) if (this.matchers[i]!(channel)) return;
    this.emit(channel, data);
  }

  /** Counts `err` and tells the subscriber's onError, if any. */
  fail(err: unknown): void {
    this.counters.errors++;
    report(this.onError, err);
  }

  private emit(channel: string, data: Uint8Array): void {
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
}

interface Entry {
  /** Local subscriptions using the channel or pattern, with its index in each one's list. */
  readonly users: Map<RedisLocalSubscription, number>;
  /** The broker's answer to the latest (P)SUBSCRIBE of it, when one was sent. */
  acked?: Promise<void>;
}

/** Reference counts of one kind of name (channels or patterns) across local subscriptions. */
class RefCounts {
  readonly entries = new Map<string, Entry>();

  /** Adds `sub` as a user of `names`; returns those it is the first user of. */
  add(sub: RedisLocalSubscription, names: readonly string[]): string[] {
    const fresh: string[] = [];
    names.forEach((name, i) => {
      let entry = this.entries.get(name);
      if (!entry) {
        entry = { users: new Map() };
        this.entries.set(name, entry);
        fresh.push(name);
      }
      entry.users.set(sub, i);
    });
    return fresh;
  }

  /** Removes `sub` from `names`; returns those nobody uses any more. */
  remove(sub: RedisLocalSubscription, names: readonly string[]): string[] {
    const gone: string[] = [];
    for (const name of names) {
      const entry = this.entries.get(name);
      if (!entry?.users.delete(sub)) continue;
      if (entry.users.size === 0) {
        this.entries.delete(name);
        gone.push(name);
      }
    }
    return gone;
  }

  /** Records `acked` as the pending answer for `names`. */
  sent(names: readonly string[], acked: Promise<void>): void {
    for (const name of names) {
      const entry = this.entries.get(name);
      if (entry) entry.acked = acked;
    }
  }

  acks(names: readonly string[]): Promise<void>[] {
    return names.flatMap((name) => {
      const acked = this.entries.get(name)?.acked;
      return acked ? [acked] : [];
    });
  }
}

/**
 * Reference counts of channels and patterns across local subscriptions, the (UN)SUBSCRIBE and
 * P(UN)SUBSCRIBE commands they lead to, and dispatch of `message` / `pmessage`. A channel and a
 * pattern with the same text are different things (`a*b` literal vs glob), so they are kept apart.
 */
export class SubscriptionTable {
  private readonly channels = new RefCounts();
  private readonly patterns = new RefCounts();

  /** Registers `sub`; returns the channels and patterns it is the first user of (to subscribe). */
  add(sub: RedisLocalSubscription): BrokerNames {
    return {
      channels: this.channels.add(sub, sub.channels),
      patterns: this.patterns.add(sub, sub.patterns),
    };
  }

  /** Unregisters `sub`; returns the channels and patterns nobody uses any more (to unsubscribe). */
  remove(sub: RedisLocalSubscription): BrokerNames {
    return {
      channels: this.channels.remove(sub, sub.channels),
      patterns: this.patterns.remove(sub, sub.patterns),
    };
  }

  /**
   * Sends SUBSCRIBE for `names.channels` and PSUBSCRIBE for `names.patterns` on `client`, and
   * records the pending answers, which every user of those names can wait for (see acks). A
   * failure goes to `onError`.
   */
  subscribeOn(client: PubSubClient, names: BrokerNames, onError: (err: unknown) => void): void {
    const send = (refs: RefCounts, list: readonly string[], command: () => Promise<unknown>) => {
      // Never an empty list: ioredis would send a bare command, which Redis rejects.
      if (list.length === 0) return;
      const acked = command().then(() => undefined);
      acked.catch(onError);
      refs.sent(list, acked);
    };
    send(this.channels, names.channels, () => client.subscribe(...names.channels));
    send(this.patterns, names.patterns, () => client.psubscribe(...names.patterns));
  }

  /** Sends UNSUBSCRIBE / PUNSUBSCRIBE for `names` on `client`; resolves once Redis answered both. */
  async unsubscribeOn(client: PubSubClient, names: BrokerNames): Promise<void> {
    // An empty list must not reach ioredis: a bare UNSUBSCRIBE would drop every channel.
    await Promise.all([
      names.channels.length ? client.unsubscribe(...names.channels) : undefined,
      names.patterns.length ? client.punsubscribe(...names.patterns) : undefined,
    ]);
  }

  /** The pending or settled (P)SUBSCRIBE answers for `names`. */
  acks(names: BrokerNames): Promise<void>[] {
    return [...this.channels.acks(names.channels), ...this.patterns.acks(names.patterns)];
  }

  /** Every channel and pattern in use (to subscribe on a new connection). */
  names(): BrokerNames {
    return { channels: [...this.channels.entries.keys()], patterns: [...this.patterns.entries.keys()] };
  }

  /** A `message` for `channel` arrived: every local user of it gets the message. */
  dispatchMessage(channel: string, data: Uint8Array): void {
    const entry = this.channels.entries.get(channel);
    if (!entry) return; // UNSUBSCRIBEd meanwhile: the broker had it in flight
    for (const sub of entry.users.keys()) sub.deliverExact(channel, data);
  }

  /** A `pmessage` for `pattern` arrived: every local user of it gets the message once. */
  dispatchPMessage(pattern: string, channel: string, data: Uint8Array): void {
    const entry = this.patterns.entries.get(pattern);
    if (!entry) return; // PUNSUBSCRIBEd meanwhile
    for (const [sub, index] of entry.users) sub.deliverPattern(index, channel, data);
  }

  /** Deactivates every subscription and forgets them (provider stop). */
  clear(): void {
    for (const refs of [this.channels, this.patterns]) {
      for (const entry of refs.entries.values()) for (const sub of entry.users.keys()) sub.active = false;
      refs.entries.clear();
    }
  }
}
