/**
 * JetStream consumption for NatsProvider (`subscribe(..., { stream })`, a field with
 * `streamConfiguration`). Per subject, one durable pull consumer per router instance, named
 * `consumerName-<hash(instance id, subject)>` (see {@link durableName}), filtered on that one
 * subject (nats-server 2.9 allows one filter per consumer; the router subscribes once per rendered
 * subject anyway). A fresh durable starts at new messages; an existing one resumes where it was.
 *
 * Unsubscribing stops pulling but never deletes the durable: the same instance re-subscribing (or
 * restarting) resumes it, and the server reaps it after `consumerInactiveThreshold` seconds without
 * pulls. Deleting it here would throw away the position the durable exists to keep.
 *
 * Subscribe calls naming the same durable share one consumer (pulling twice from one durable would
 * split its messages between the pulls); each message is acked once, after every listener ran.
 */
import { createHash } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { ErrorCode, errorMessage, StreamgateError } from "../../errors.js";
import type { EventsHandler, ProviderCounters, StreamOptions, Unsubscribe } from "../provider.js";
import { compileNatsSubject } from "../subject.js";
import { type ConsumerListener, DurableConsumer } from "./jetstream-consumer.js";
import type { DurableSpec } from "./jetstream-durable.js";
import { withTimeout } from "../common/timers.js";

/** One durable's position, from the server's consumer info. */
export interface JetStreamLag {
  readonly stream: string;
  readonly consumer: string;
  readonly subject: string;
  /** Whether this router is pulling from it right now. */
  readonly consuming: boolean;
  /** Messages in the stream the consumer has not delivered yet. */
  readonly pending?: number;
  /** Delivered and not acked yet. */
  readonly ackPending?: number;
  /** Messages the server delivered more than once (naks, ack timeouts). */
  readonly redelivered?: number;
  /** Stream sequence of the last delivered message. */
  readonly delivered?: number;
  /** Stream sequence below which every message is acked. */
  readonly ackFloor?: number;
  /** Why the numbers are missing, or the last problem starting the consumer. */
  readonly error?: string;
}

/**
 * `consumerName-<12 hex>`: the hash of (instance id, subject) is stable, so the same instance gets
 * the same durable back after a restart, and distinct instances never share one.
 */
export function durableName(consumerName: string, instanceId: string, subject: string): string {
  const hash = createHash("sha256").update(`${instanceId}\u0000${subject}`).digest("hex").slice(0, 12);
  return `${consumerName}-${hash}`;
}

/** NATS stream and consumer names: no whitespace, `.`, `*`, `>`, path separators. */
const INVALID_NAME = /[\s.*>/\\]/;

/** The JetStream side of one NatsProvider: its durables, and the connection they run on. */
export class JetStreamConsumers {
  private readonly durables = new Map<string, DurableConsumer>();
  private nc: NatsConnection | undefined;
  private connected = false;

  constructor(
    private readonly providerId: string,
    private readonly instanceId: string,
    private readonly counters: ProviderCounters,
    private readonly backoff: (elapsedMs: number) => number,
  ) {}

  /**
   * One durable per subject. While connected, resolves once every durable exists and is being
   * consumed, and rejects (PROVIDER_UNAVAILABLE, naming the stream) when one cannot be, e.g. a
   * missing stream. While disconnected, resolves at once; the durables start when connected and
   * problems then go to `onError`.
   */
  async subscribe(
    subjects: readonly string[],
    onEvents: EventsHandler,
    stream: StreamOptions,
    onError: ((err: Error) => void) | undefined,
  ): Promise<Unsubscribe> {
    this.checkNames(stream);
    const matchers = subjects.map(compileNatsSubject);
    let active = true;
    const pairs = subjects.map((subject, i): [DurableConsumer, ConsumerListener] => {
      // Overlapping subjects of one call (a wildcard and a literal): the earlier one delivers.
      const earlier = matchers.slice(0, i);
      const listener: ConsumerListener = {
        deliver: (event) => {
          if (!active) return;
          if (earlier.some((m) => m(event.topic))) return;
          return onEvents([event]);
        },
        fail: (err) => onError?.(err),
      };
      const durable = this.durable(stream, subject);
      durable.listeners.add(listener);
      return [durable, listener];
    });
    const release = (): void => {
      if (!active) return;
      active = false;
      for (const [d, l] of pairs) {
        d.listeners.delete(l);
        if (d.listeners.size > 0) continue;
        d.close();
        const key = keyOf(d.spec);
        if (this.durables.get(key) === d) this.durables.delete(key);
      }
    };
    const nc = this.nc;
    if (nc && this.connected) {
      try {
        await Promise.all(
          pairs.map(([d]) => d.ensure(nc).catch((err) => Promise.reject(this.toError(d, err)))),
        );
      } catch (err) {
        release();
        throw err;
      }
    }
    return async () => {
      release();
      await this.settled();
    };
  }

  /** A new connection is up: every durable starts on it. */
  attach(nc: NatsConnection): void {
    this.nc = nc;
    this.connected = true;
    for (const d of this.durables.values()) d.retryInBackground(nc, () => this.nc === nc);
  }

  disconnected(): void {
    this.connected = false;
  }

  /**
   * The same connection is back. nats.js resumes the pulls of running consumers by itself (it
   * checks the durable and pulls again); durables not running yet start now.
   */
  reconnected(): void {
    this.connected = true;
    const nc = this.nc;
    if (!nc) return;
    for (const d of this.durables.values()) {
      if (!d.consuming) d.retryInBackground(nc, () => this.nc === nc);
    }
  }

  /** The connection is gone for good. */
  detach(): void {
    this.nc = undefined;
    this.connected = false;
    for (const d of this.durables.values()) d.detach();
  }

  /** Stops every durable (keeping them on the server); resolves once the server knows. */
  async close(): Promise<void> {
    for (const d of this.durables.values()) d.close();
    const had = this.durables.size > 0;
    this.durables.clear();
    if (had) await this.settled();
    this.nc = undefined;
    this.connected = false;
  }

  /** Asks the server for each durable's numbers: one $JS.API request each, on demand only. */
  async lag(): Promise<JetStreamLag[]> {
    const nc = this.connected ? this.nc : undefined;
    return Promise.all(
      [...this.durables.values()].map(async (d): Promise<JetStreamLag> => {
        const base = {
          stream: d.spec.stream,
          consumer: d.spec.name,
          subject: d.spec.subject,
          consuming: d.consuming,
        };
        if (!nc) return { ...base, error: "not connected" };
        try {
          const ci = await d.info(nc);
          return {
            ...base,
            pending: ci.num_pending,
            ackPending: ci.num_ack_pending,
            redelivered: ci.num_redelivered,
            delivered: ci.delivered.stream_seq,
            ackFloor: ci.ack_floor.stream_seq,
            ...(d.lastError ? { error: d.lastError } : {}),
          };
        } catch (err) {
          return { ...base, error: errorMessage(err) };
        }
      }),
    );
  }

  /**
   * Waits (1s at most) until the server has processed the UNSUB of our pull inboxes: a server
   * still holding a pull request would hand it messages nobody reads, redelivered only after
   * ack_wait. One connection's protocol is processed in order, so the PONG proves it.
   */
  private async settled(): Promise<void> {
    const nc = this.nc;
    if (nc && this.connected) await withTimeout(nc.flush(), 1000, "flush").catch(() => undefined);
  }

  private durable(stream: StreamOptions, subject: string): DurableConsumer {
    const spec: DurableSpec = {
      stream: stream.streamName,
      name: durableName(stream.consumerName, this.instanceId, subject),
      subject,
      inactiveThresholdSec: stream.consumerInactiveThreshold,
    };
    const key = keyOf(spec);
    let d = this.durables.get(key);
    if (!d) {
      d = new DurableConsumer(spec, this.counters, this.backoff);
      this.durables.set(key, d);
      // Created while connected through subscribe(), which starts it; otherwise attach() will.
    }
    return d;
  }

  private checkNames(stream: StreamOptions): void {
    for (const [what, name] of [
      ["streamName", stream.streamName],
      ["consumerName", stream.consumerName],
    ] as const) {
      if (!name || INVALID_NAME.test(name)) {
        throw new StreamgateError(
          ErrorCode.SCHEMA_EDFS,
          `streamConfiguration.${what} ${JSON.stringify(name)} is not a valid JetStream name (no spaces, ".", "*", ">", "/" or "\\")`,
        );
      }
    }
    if (!(stream.consumerInactiveThreshold > 0)) {
      throw new StreamgateError(
        ErrorCode.SCHEMA_EDFS,
        `streamConfiguration.consumerInactiveThreshold must be a positive number of seconds, not ${stream.consumerInactiveThreshold}`,
      );
    }
  }

  private toError(d: DurableConsumer, err: unknown): StreamgateError {
    const { stream, name, subject } = d.spec;
    const who = `NATS provider "${this.providerId}"`;
    if (err instanceof StreamgateError && err.code === ErrorCode.STREAM_NOT_FOUND) {
      return new StreamgateError(
        ErrorCode.PROVIDER_UNAVAILABLE,
        `${who}: JetStream stream "${stream}" does not exist; cannot consume "${subject}"`,
        { cause: err },
      );
    }
    if (err instanceof StreamgateError) return err;
    if (err instanceof Error && err.name === "JetStreamNotEnabled") {
      return new StreamgateError(
        ErrorCode.PROVIDER_UNAVAILABLE,
        `${who}: JetStream is not enabled on the NATS server (stream "${stream}")`,
        { cause: err },
      );
    }
    return new StreamgateError(
      ErrorCode.PROVIDER_UNAVAILABLE,
      `${who}: cannot consume "${subject}" from JetStream stream "${stream}" (consumer "${name}"): ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

const keyOf = (spec: DurableSpec) => `${spec.stream}\u0000${spec.name}`;
