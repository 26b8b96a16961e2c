/**
 * One JetStream durable pull consumer of NatsProvider: created (or updated) on the stream,
 * consumed in pulled batches with nats.js v3 `consumer.consume()`, each message acked once every
 * listener has taken it. It outlives connections: a new connection starts it again, a consumer the
 * server lost is created again, and failures in the background are retried with backoff. A durable
 * whose position the server lost, or whose deliveries were lost in transit, is recreated after
 * what was settled (jetstream-sequence.ts).
 */
import {
  type ConsumerInfo,
  type ConsumerMessages,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ErrorCode, errorMessage, StreamgateError } from "../../errors.js";
import type { BrokerEvent, ProviderCounters } from "../provider.js";
import {
  createOrUpdateDurable,
  deleteDurable,
  type DurableSpec,
  MAX_ATTEMPTS,
  nakDelay,
  PULL_BATCH,
  PULL_EXPIRES_MS,
} from "./jetstream-durable.js";
import { DeliveryCheck, type Verdict } from "./jetstream-sequence.js";
import { headersOf } from "./subscription.js";
import { report as reportTo } from "../common/errors.js";
import { Sleeper, waitAtMost } from "../common/timers.js";

/**
 * How long a recreation waits for the writes of messages already handed to listeners: settled,
 * they are not sent again; still unsettled, they are (a duplicate, after newer events).
 */
const IN_FLIGHT_WAIT_MS = 2000;

/** One subscribe() call's interest in this consumer. */
export interface ConsumerListener {
  /**
   * Takes one event; throwing makes the message redelivered (nak). A returned promise is when the
   * event was written to every subscriber (at-least-once): the ack waits for it, a rejection naks.
   */
  deliver(event: BrokerEvent): void | Promise<void>;
  /** Broker errors and handler exceptions of this consumer. */
  fail(err: Error): void;
}

export class DurableConsumer {
  readonly listeners = new Set<ConsumerListener>();
  /** Last error seen starting or consuming; cleared once consuming. */
  lastError: string | undefined;
  private messages: ConsumerMessages | undefined;
  private messagesNc: NatsConnection | undefined;
  private starting: Promise<void> | undefined;
  /** Bumped whenever consumption stops, so stale callbacks and starts know they are stale. */
  private gen = 0;
  private closed = false;
  /** Highest stream sequence settled here, to recreate a lost durable where it was. */
  private lastSeq = 0;
  /**
   * Where the durable of the last consumption stood, for a recreation before anything was handed
   * out here: where a created one started, or an existing one's ack floor.
   */
  private startedAfter: number | undefined;
  /** Sequences handed to listeners and not acked or terminated yet (in flight, or nakked). */
  private readonly unsettled = new Set<number>();
  /** Writes of messages handed to listeners that have not settled yet. */
  private readonly writing = new Set<Promise<void>>();
  /** Lost positions and lost deliveries (see jetstream-sequence.ts). */
  private readonly check = new DeliveryCheck();
  /** Set while the durable is deleted to be recreated: starts wait for it. */
  private recreating: Promise<void> | undefined;
  private retrying = false;
  private readonly sleeper = new Sleeper();

  constructor(
    readonly spec: DurableSpec,
    private readonly counters: ProviderCounters,
    private readonly backoff: (elapsedMs: number) => number,
  ) {}

  get consuming(): boolean {
    return this.messages !== undefined;
  }

  /**
   * Ensures the durable exists and is consumed on `nc`. Concurrent callers share one attempt.
   * Rejects with StreamMissingError or the broker's error when that attempt fails.
   */
  ensure(nc: NatsConnection): Promise<void> {
    if (this.closed) return Promise.reject(this.stoppedError("is closed"));
    if (this.messages && this.messagesNc === nc) return Promise.resolve();
    this.starting ??= this.start(nc).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /**
   * Keeps calling ensure() with backoff until consuming, closed, or `alive()` turns false. Called
   * again while retrying (the connection came back), it ends the current backoff instead.
   */
  retryInBackground(nc: NatsConnection, alive: () => boolean): void {
    if (this.retrying) {
      this.sleeper.wake();
      return;
    }
    this.retrying = true;
    void (async () => {
      const since = Date.now();
      let reported: string | undefined;
      while (!this.closed && alive() && !(this.messages && this.messagesNc === nc)) {
        try {
          await this.ensure(nc);
        } catch (err) {
          // Report each distinct problem once, not once per attempt.
          if (errorMessage(err) !== reported) this.fail(err);
          reported = errorMessage(err);
          await this.sleeper.sleep(this.backoff(Date.now() - since));
        }
      }
      this.retrying = false;
    })();
  }

  /** The connection is gone; consumption stops until ensure() is called with a new one. */
  detach(): void {
    this.stopConsuming();
  }

  /**
   * Stops consuming for good. The durable stays on the server: a restarted instance resumes it,
   * and its inactive_threshold lets the server reap it once nobody pulls.
   */
  close(): void {
    this.closed = true;
    this.sleeper.wake();
    this.stopConsuming();
  }

  /** The server's view of the durable (a $JS.API request; not for the hot path). */
  async info(nc: NatsConnection): Promise<ConsumerInfo> {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    return jsm.consumers.info(this.spec.stream, this.spec.name);
  }

  private async start(nc: NatsConnection): Promise<void> {
    // A durable being recreated is deleted first: started now, it would be deleted under us.
    await this.recreating;
    this.stopConsuming();
    const gen = this.gen;
    const after = this.resumeAfter();
    const { info, created } = await createOrUpdateDurable(nc, this.spec, after);
    if (gen !== this.gen || this.closed) throw this.stoppedError("stopped while starting");
    // An existing durable behind what was settled here lost its position on the server: its
    // first delivery at or below `after` is caught in onMessage. One created now starts where the
    // server put it (after `after`, or at the end of a stream that was recreated meanwhile).
    const { stream_seq: streamSeq, consumer_seq: consumerSeq } = info.delivered;
    this.check.started(created, { streamSeq, consumerSeq }, after);
    this.startedAfter = created ? streamSeq : info.ack_floor.stream_seq;
    const consumer = jetstream(nc).consumers.getConsumerFromInfo(info);
    const messages = await consumer.consume({
      max_messages: PULL_BATCH,
      expires: PULL_EXPIRES_MS,
      callback: (m) => this.onMessage(m, gen, nc),
    });
    if (gen !== this.gen || this.closed) {
      await messages.close();
      throw this.stoppedError("stopped while starting");
    }
    this.messages = messages;
    this.messagesNc = nc;
    this.lastError = undefined;
    void this.watch(nc, messages, gen);
  }

  /** Restarts consumption when nats.js reports the durable or stream gone, or stops by itself. */
  private async watch(nc: NatsConnection, messages: ConsumerMessages, gen: number): Promise<void> {
    const restart = () => {
      if (gen !== this.gen || this.closed) return;
      this.stopConsuming();
      if (!nc.isClosed()) this.retryInBackground(nc, () => !nc.isClosed());
    };
    void messages.closed().then((err) => {
      if (err && gen === this.gen) this.fail(err);
      restart();
    });
    for await (const s of messages.status()) {
      if (gen !== this.gen) return;
      if (s.type === "consumer_deleted" || s.type === "consumer_not_found" || s.type === "stream_not_found") {
        this.lastError = `${s.type} (${this.spec.stream}/${this.spec.name})`;
        restart();
        return;
      }
    }
  }

  private onMessage(m: JsMsg, gen: number, nc: NatsConnection): void {
    // A message from a consumption we stopped is left unacked: the server redelivers it.
    if (gen !== this.gen || this.closed) return;
    // A server that lost the durable's position (it would replay events older than every
    // subscription), or deliveries lost in transit (they would come after ack_wait, out of
    // order): this message is not delivered, the durable is recreated after what was settled.
    const { deliveryCount, deliverySequence } = m.info;
    const verdict = this.check.check({ streamSeq: m.seq, deliverySeq: deliverySequence, deliveryCount });
    if (verdict.kind === "lost" || verdict.kind === "gap") {
      this.recreate(verdict, nc);
      return;
    }
    if (verdict.kind === "gave-up") this.fail(this.gaveUp(verdict));
    this.counters.received++;
    const headers = headersOf(m.headers);
    const event: BrokerEvent = {
      topic: m.subject,
      data: m.data,
      position: String(m.seq),
      ...(headers ? { headers } : {}),
    };
    let failure: unknown;
    let written: Promise<void>[] | undefined;
    this.unsettled.add(m.seq);
    for (const l of this.listeners) {
      try {
        const p = l.deliver(event);
        if (p) {
          written ??= [];
          written.push(p);
        }
      } catch (err) {
        failure ??= err;
        this.counters.errors++;
        report(l, err);
      }
    }
    if (!written || failure !== undefined) {
      this.settle(m, failure);
      return;
    }
    // At-least-once: acknowledged only once every subscriber's socket or buffer has the event.
    const settled = Promise.all(written).then(
      () => this.settle(m, undefined),
      (err: unknown) => this.settle(m, err ?? "not written"),
    );
    this.writing.add(settled);
    void settled.finally(() => this.writing.delete(settled));
  }

  /**
   * Acks once per message, not per listener: after every listener ran, or (at-least-once) after
   * the writes they reported finished (delivery.md, "Acks"). A failure naks with a growing delay.
   */
  private settle(m: JsMsg, failure: unknown): void {
    try {
      if (failure === undefined) {
        m.ack();
      } else if (m.info.deliveryCount >= MAX_ATTEMPTS) {
        // A poison message: give up on it rather than redeliver it forever.
        m.term();
      } else {
        m.nak(nakDelay(m.info.deliveryCount));
        return;
      }
      this.lastSeq = Math.max(this.lastSeq, m.seq);
      this.unsettled.delete(m.seq);
    } catch (err) {
      // The connection closed under us: unacked, the message comes again after ack_wait.
      this.fail(err);
    }
  }

  /**
   * Where a recreated durable starts after: the last settled sequence, or below the oldest one
   * still unsettled (in flight, or nakked), so that one is delivered again rather than skipped.
   * While nothing was handed out here: where the durable stood when consumption started (what it
   * delivered meanwhile to nobody, e.g. lost in transit, comes again), or, before any start,
   * undefined: a new durable then starts at new messages.
   */
  private resumeAfter(): number | undefined {
    if (this.lastSeq === 0 && this.unsettled.size === 0) return this.startedAfter;
    let after = this.lastSeq === 0 ? Number.POSITIVE_INFINITY : this.lastSeq;
    for (const seq of this.unsettled) after = Math.min(after, seq - 1);
    return after;
  }

  /**
   * The server lost this durable's position, or deliveries were lost in transit: stop consuming,
   * let the writes of messages already handed out settle (so they are not sent again), delete the
   * durable, and let the background start create it again after what was settled here. Nothing
   * past the lost part was handed out: the message that revealed it was the first one after it.
   */
  private recreate(verdict: Verdict & { kind: "lost" | "gap" }, nc: NatsConnection): void {
    this.stopConsuming();
    const recreating = (async () => {
      await waitAtMost(IN_FLIGHT_WAIT_MS, Promise.allSettled([...this.writing]));
      this.fail(this.recreated(verdict));
      // Closed meanwhile: the durable stays for whoever subscribes next (deleting it could delete
      // the one a new subscription is starting).
      if (this.closed) return;
      await deleteDurable(nc, this.spec).catch((err: unknown) => this.fail(err));
    })();
    this.recreating = recreating;
    void recreating.then(() => {
      if (this.recreating === recreating) this.recreating = undefined;
      if (!this.closed && !nc.isClosed()) this.retryInBackground(nc, () => !nc.isClosed());
    });
  }

  private recreated(verdict: Verdict & { kind: "lost" | "gap" }): StreamgateError {
    const { stream, name } = this.spec;
    const what =
      verdict.kind === "lost"
        ? `went back to stream sequence ${verdict.streamSeq} (the server lost its position)`
        : `missed deliveries ${verdict.from}..${verdict.to} (lost in transit, e.g. at a server restart)`;
    return new StreamgateError(
      ErrorCode.PROVIDER_UNAVAILABLE,
      `JetStream consumer "${stream}/${name}" ${what}; recreating it after stream sequence ${this.resumeAfter() ?? 0}`,
    );
  }

  private gaveUp(verdict: Verdict & { kind: "gave-up" }): StreamgateError {
    const { stream, name } = this.spec;
    const what = verdict.why === "lost" ? "goes back in the stream" : "misses deliveries";
    return new StreamgateError(
      ErrorCode.PROVIDER_UNAVAILABLE,
      `JetStream consumer "${stream}/${name}" still ${what} after being recreated ${verdict.recreations} times in a short while: another process probably pulls from the same durable (two routers with the same instance_id?). It is no longer recreated for a while; deliveries it misses come again after ack_wait, out of order`,
    );
  }

  private stopConsuming(): void {
    this.gen++;
    const messages = this.messages;
    this.messages = undefined;
    this.messagesNc = undefined;
    // close() stops pulling (UNSUB of the pull inbox); the server drops pull requests nobody
    // listens to, so nothing more is handed out for this durable until someone pulls again.
    if (messages) void messages.close().catch(() => undefined);
  }

  private stoppedError(what: string): StreamgateError {
    const { stream, name } = this.spec;
    return new StreamgateError(
      ErrorCode.PROVIDER_UNAVAILABLE,
      `JetStream consumer "${stream}/${name}" ${what}`,
    );
  }

  private fail(err: unknown): void {
    this.counters.errors++;
    this.lastError = errorMessage(err);
    for (const l of this.listeners) report(l, err);
  }
}

function report(l: ConsumerListener, err: unknown): void {
  reportTo((e) => l.fail(e), err);
}
