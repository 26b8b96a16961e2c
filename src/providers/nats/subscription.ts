/**
 * One subscribe() call of NatsProvider: its subjects, its handler, and the NATS subscriptions
 * backing it while there is a connection. It outlives connections, so a subscription made while
 * the broker is away is attached when one comes up.
 */
import {
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  PermissionViolationError,
  type Subscription,
} from "@nats-io/transport-node";
import type { BrokerEvent, EventsHandler, ProviderCounters } from "../provider.js";
import { report } from "../common/errors.js";
import { compileNatsSubject, type TopicMatcher } from "../subject.js";

const isWildcard = (subject: string) => subject.split(".").some((t) => t === "*" || t === ">");

/** See the module comment. `counters` is the provider's, updated in place. */
export class NatsLocalSubscription {
  private active = true;
  private natsSubs: Subscription[] = [];
  /** The server refused one of the subjects (account or user permissions); nats.js closed it. */
  denied: PermissionViolationError | undefined;
  /** subscribe() is waiting for the server's answer and reports a refusal itself. */
  confirming = false;
  /** Per subject, matchers of the earlier subjects it may overlap: each message is delivered once. */
  private readonly earlier: readonly (readonly TopicMatcher[])[];

  constructor(
    /** Distinct, validated subjects. */
    readonly subjects: readonly string[],
    private readonly onEvents: EventsHandler,
    private readonly onError: ((err: Error) => void) | undefined,
    private readonly counters: ProviderCounters,
  ) {
    const matchers = subjects.map(compileNatsSubject);
    // Two literal subjects never overlap; only pairs involving a wildcard need the check.
    this.earlier = subjects.map((s, i) =>
      matchers.slice(0, i).filter((_, j) => isWildcard(s) || isWildcard(subjects[j]!)),
    );
  }

  /** One NATS subscription per subject on `nc`, delivering through a callback. */
  attach(nc: NatsConnection): void {
    this.natsSubs = [];
    this.subjects.forEach((subject, i) => {
      try {
        this.natsSubs.push(nc.subscribe(subject, { callback: (err, msg) => this.deliver(i, err, msg) }));
      } catch (err) {
        this.fail(err);
      }
    });
  }

  /** The connection is gone for good, and its subscriptions with it. */
  detach(): void {
    this.natsSubs = [];
  }

  /** Unsubscribes from the broker; nothing is delivered afterwards. Idempotent. */
  close(): void {
    if (!this.active) return;
    this.active = false;
    for (const s of this.natsSubs) {
      try {
        s.unsubscribe();
      } catch {
        // the connection is already closed: the server forgot the subscription with it
      }
    }
    this.natsSubs = [];
  }

  private deliver(index: number, err: Error | null, msg: Msg): void {
    // nats.js may still hand over a message it had parsed before our UNSUB.
    if (!this.active) return;
    if (err) {
      if (err instanceof PermissionViolationError) {
        this.denied = err;
        if (this.confirming) return;
      }
      this.fail(err);
      return;
    }
    // An earlier subject of this subscription matches too, and its NATS subscription delivers it.
    if (this.earlier[index]!.some((m) => m(msg.subject))) return;
    this.counters.received++;
    // An exception escaping a nats.js callback would break its parser and the connection with it.
    try {
      this.onEvents([toEvent(msg)]);
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * Broker errors and handler exceptions are counted and reported to the subscriber's onError:
   * a throwing handler is a bug above us, and onError is the one channel back to its owner.
   */
  private fail(err: unknown): void {
    this.counters.errors++;
    report(this.onError, err);
  }
}

function toEvent(msg: Msg): BrokerEvent {
  const headers = headersOf(msg.headers);
  return headers ? { topic: msg.subject, data: msg.data, headers } : { topic: msg.subject, data: msg.data };
}

/** NATS headers as a record (shared with JetStream). Undefined when the message has none. */
export function headersOf(h: MsgHdrs | undefined): Record<string, string> | undefined {
  if (!h) return undefined;
  const headers: Record<string, string> = {};
  // Repeated header values are joined with ", " as HTTP does; the interface holds one string.
  for (const k of h.keys()) headers[k] = h.values(k).join(", ");
  return headers;
}
