/**
 * NATS core provider on nats.js v3 (`@nats-io/transport-node`). One connection per provider; each
 * subscribed subject is one NATS subscription delivering through a callback (no async iterator:
 * fewer promises per message). nats.js reconnects and re-sends every SUB by itself; this class
 * adds what it lacks: a start that fails fast, a background start that keeps trying, and
 * subscriptions remembered while there is no connection at all. A subscribe with `stream` goes to
 * JetStream durable consumers instead (jetstream.ts), which follow the same connection events.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import {
  connect,
  headers as createHeaders,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";
import type { NatsProviderConfig } from "../../config/types.js";
import { ErrorCode, errorMessage, StreamgateError } from "../../errors.js";
import { BrokerProvider } from "../base.js";
import type {
  PublishOptions,
  BrokerEvent,
  ConsumerLag,
  EventPosition,
  EventsHandler,
  ReplayRequest,
  StreamOptions,
  SubscribeOptions,
  Unsubscribe,
} from "../provider.js";
import { backoffByElapsed, Outage } from "../common/backoff.js";
import { redactUrl } from "../common/redact.js";
import { withTimeout } from "../common/timers.js";
import { validateNatsSubject } from "../subject.js";
import { jetStreamHeads, jetStreamPosition, replayJetStream } from "./jetstream-replay.js";
import { JetStreamConsumers, type JetStreamLag } from "./jetstream.js";
import {
  connectionOptions,
  type NatsProviderOptions,
  type ResolvedNatsOptions,
  resolveOptions,
} from "./options.js";
import { NatsLocalSubscription } from "./subscription.js";

export type { JetStreamLag } from "./jetstream.js";
export type { NatsProviderOptions } from "./options.js";

/** NATS core implementation of {@link Provider}; see the module comment. */
export class NatsProvider extends BrokerProvider {
  declare readonly kind: "nats";
  private readonly opts: ResolvedNatsOptions;
  private readonly url: string;
  private readonly subs = new Set<NatsLocalSubscription>();
  private readonly jetstream: JetStreamConsumers;
  private nc: NatsConnection | undefined;
  /** The current outage, for nats.js' reconnect delay; ended once connected. */
  private readonly outage: Outage;
  /** Publish permission refusals the server sent, by subject, until publish() reports them. */
  private readonly deniedPublishes = new Map<string, PermissionViolationError>();

  constructor(
    private readonly config: NatsProviderConfig,
    options?: NatsProviderOptions,
  ) {
    super(config.id, "nats");
    this.url = redactUrl(config.url);
    this.opts = resolveOptions(config.id, options);
    this.watchLag(config.health?.max_lag, this.opts.lagIntervalMs);
    const { minBackoffMs, maxBackoffMs } = this.opts;
    this.outage = new Outage(minBackoffMs, maxBackoffMs);
    this.jetstream = new JetStreamConsumers(this.id, this.opts.instanceId, this.counters, (elapsed) =>
      backoffByElapsed(elapsed, minBackoffMs, maxBackoffMs),
    );
  }

  protected hasClients(): boolean {
    return this.nc !== undefined;
  }

  protected startBackoff(_failed: number, elapsedMs: number): number {
    return backoffByElapsed(elapsedMs, this.opts.minBackoffMs, this.opts.maxBackoffMs);
  }

  protected async closeClients(): Promise<void> {
    for (const sub of this.subs) sub.close();
    this.subs.clear();
    await this.jetstream.close();
    const nc = this.nc;
    this.nc = undefined;
    // close(), not drain(): nobody is left to receive what a drain would still deliver.
    await nc?.close().catch(() => undefined);
  }

  async subscribe(
    topics: readonly string[],
    onEvents: EventsHandler,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe> {
    this.checkSubscribe(options);
    if (topics.length === 0) {
      throw new StreamgateError(ErrorCode.SUBJECT_INVALID, "no subjects to subscribe to");
    }
    for (const t of topics) this.checkSubject(t, true);
    if (options?.stream) {
      return this.jetstream.subscribe([...new Set(topics)], onEvents, options.stream, options.onError);
    }
    const sub = new NatsLocalSubscription([...new Set(topics)], onEvents, options?.onError, this.counters);
    this.subs.add(sub);
    const unsubscribe = async () => {
      sub.close();
      this.subs.delete(sub);
    };
    const nc = this.nc;
    if (!nc) return unsubscribe;
    sub.confirming = this.connected;
    sub.attach(nc);
    if (!sub.confirming) return unsubscribe;
    await this.confirmSubscription(nc, sub);
    return unsubscribe;
  }

  /**
   * Waits for the server to have processed the SUBs (a PING answered after them), so that a
   * message published anywhere after subscribe() resolved reaches the subscription, and so that a
   * subject the account may not subscribe to rejects this subscription alone with
   * PROVIDER_PERMISSION_DENIED: the server answers such a SUB with a -ERR before that PONG.
   */
  private async confirmSubscription(nc: NatsConnection, sub: NatsLocalSubscription): Promise<void> {
    try {
      await withTimeout(nc.flush(), this.opts.publishTimeoutMs, "subscribe confirm");
    } catch {
      // The connection is in trouble: the subscription stays registered and nats.js re-sends it.
    } finally {
      sub.confirming = false;
    }
    const denied = sub.denied;
    if (!denied) return;
    sub.close();
    this.subs.delete(sub);
    this.counters.errors++;
    throw this.error(
      ErrorCode.PROVIDER_PERMISSION_DENIED,
      `may not subscribe to "${denied.subject}": the NATS server refused it (permissions of the account or user)`,
      denied,
    );
  }

  /** JetStream subscriptions replay from stream sequences; core subjects cannot. */
  canReplay(stream: StreamOptions | undefined): boolean {
    return stream !== undefined;
  }

  positionOf(event: BrokerEvent, stream: StreamOptions | undefined): EventPosition | undefined {
    return stream ? jetStreamPosition(event, stream) : undefined;
  }

  async heads(topics: readonly string[], stream: StreamOptions | undefined): Promise<Record<string, number>> {
    const nc = this.nc;
    if (!stream || !nc || !this.connected) return {};
    return jetStreamHeads(nc, topics, stream);
  }

  async replay(req: ReplayRequest): Promise<void> {
    const nc = this.nc;
    if (!req.stream) throw this.error(ErrorCode.PROVIDER_NOT_BUILT, "core NATS subjects cannot be replayed");
    if (!nc || !this.connected)
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "not connected: cannot replay");
    try {
      await replayJetStream(nc, req);
    } catch (err) {
      throw this.error(
        ErrorCode.PROVIDER_UNAVAILABLE,
        `replay from stream "${req.stream.streamName}" failed`,
        err,
      );
    }
  }

  async publish(topic: string, data: Uint8Array, options?: PublishOptions): Promise<void> {
    this.checkSubject(topic, false);
    if (options?.key !== undefined)
      throw this.error(
        ErrorCode.PROVIDER_NOT_BUILT,
        "NATS messages carry no key (a Kafka record key was set)",
      );
    const nc = this.nc;
    // nats.js would buffer a publish made while disconnected, but it discards that buffer when it
    // dials again (v3.4 resets its outbound queue on every dial), so the message would be lost
    // after publish() resolved. Refusing is the honest answer.
    if (!nc || !this.connected) {
      throw this.error(ErrorCode.PUBLISH_FAILED, "is not connected to its broker; message not published");
    }
    try {
      nc.publish(topic, data, options?.headers ? { headers: natsHeaders(options.headers) } : undefined);
      // nc.publish only queues bytes for the socket. A flush (PING, wait for PONG) proves the
      // server read everything before it, so a connection dying right now rejects instead of
      // silently losing the message. It costs one round trip of latency per publish, not
      // throughput: concurrent publishes pipeline their PINGs on the same socket.
      if (this.opts.confirmPublish) {
        await withTimeout(nc.flush(), this.opts.publishTimeoutMs, "publish confirm");
        // A -ERR for this publish came before the PONG; nats.js hands it to the status stream,
        // which has run once the microtasks queued with it have.
        await nextTurn();
        this.checkPublishAllowed(topic);
      }
    } catch (err) {
      this.counters.errors++;
      if (err instanceof StreamgateError && err.code === ErrorCode.PROVIDER_PERMISSION_DENIED) throw err;
      throw this.error(ErrorCode.PUBLISH_FAILED, `could not publish to "${topic}"`, err);
    }
    this.counters.published++;
  }

  override async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.checkSubject(subject, false);
    const nc = this.nc;
    if (!nc || !this.connected) {
      throw this.error(
        ErrorCode.PROVIDER_UNAVAILABLE,
        `is not connected to its broker; request to "${subject}"`,
      );
    }
    try {
      const reply = await nc.request(subject, data, { timeout: timeoutMs });
      return reply.data;
    } catch (err) {
      this.counters.errors++;
      if (err instanceof TimeoutError) {
        throw this.error(
          ErrorCode.PROVIDER_UNAVAILABLE,
          `request to "${subject}" timed out after ${timeoutMs}ms`,
          err,
        );
      }
      if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) {
        throw this.error(
          ErrorCode.PROVIDER_UNAVAILABLE,
          `has no responders for request subject "${subject}"`,
          err,
        );
      }
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, `request to "${subject}" failed`, err);
    }
  }

  /** Per JetStream durable: pending and ack-pending counts from the server, on demand. */
  jetStreamLag(): Promise<JetStreamLag[]> {
    return this.jetstream.lag();
  }

  /** Sum of `pending` over this instance's JetStream consumers (0 without any). */
  override async totalLag(): Promise<number> {
    return (await this.jetstream.lag()).reduce((sum, l) => sum + (l.pending ?? 0), 0);
  }

  /** Per JetStream durable of this instance: pending, ack-pending and redelivered counts. */
  async consumerLag(): Promise<ConsumerLag[]> {
    return (await this.jetstream.lag()).map((l) => ({
      source: l.stream,
      consumer: l.consumer,
      ...(l.pending === undefined ? {} : { pending: l.pending }),
      ...(l.ackPending === undefined ? {} : { ackPending: l.ackPending }),
      ...(l.redelivered === undefined ? {} : { redelivered: l.redelivered }),
    }));
  }

  protected async connectOnce(): Promise<void> {
    let nc: NatsConnection;
    try {
      nc = await connect(connectionOptions(this.config, this.opts, () => this.reconnectDelay()));
    } catch (err) {
      this.detail = `cannot connect to ${this.url}: ${errorMessage(err)}`;
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, `cannot connect to ${this.url}`, err);
    }
    if (this.stopped) {
      await nc.close().catch(() => undefined);
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "was stopped while connecting");
    }
    this.nc = nc;
    this.connected = true;
    this.detail = undefined;
    this.outage.end();
    void this.watchStatus(nc);
    void nc.closed().then((err) => this.onClosed(nc, err || undefined));
    for (const sub of this.subs) sub.attach(nc);
    this.jetstream.attach(nc);
  }

  private reconnectDelay(): number {
    return this.outage.delay();
  }

  /** The connected flag and reconnect counter follow nats.js' status events. */
  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.nc !== nc) return;
      switch (s.type) {
        case "disconnect":
          this.connected = false;
          this.detail = `disconnected from ${redactUrl(s.server)}; reconnecting`;
          this.jetstream.disconnected();
          break;
        case "reconnect":
          this.connected = true;
          this.detail = undefined;
          this.outage.end();
          this.counters.reconnects++;
          this.jetstream.reconnected();
          break;
        case "error":
          this.counters.errors++;
          if (s.error instanceof PermissionViolationError && s.error.operation === "publish") {
            // Bounded: refusals nobody asks about (confirmPublish off) must not pile up.
            if (this.deniedPublishes.size >= 1000) this.deniedPublishes.clear();
            this.deniedPublishes.set(s.error.subject, s.error);
          }
          break;
        case "ldm":
          this.detail = `server ${redactUrl(s.server)} entered lame duck mode`;
          break;
      }
    }
  }

  /** Only reached if nats.js gives up; start from scratch so the router never stays offline. */
  private onClosed(nc: NatsConnection, err: Error | undefined): void {
    if (this.nc !== nc) return;
    this.nc = undefined;
    this.connected = false;
    for (const sub of this.subs) sub.detach();
    this.jetstream.detach();
    if (this.stopped) return;
    this.detail = `connection closed${err ? `: ${errorMessage(err)}` : ""}; reconnecting`;
    void this.startInBackground();
  }

  /** Throws PROVIDER_PERMISSION_DENIED when the server refused a publish to `topic`. */
  private checkPublishAllowed(topic: string): void {
    const denied = this.deniedPublishes.get(topic);
    if (!denied) return;
    this.deniedPublishes.delete(topic);
    throw this.error(
      ErrorCode.PROVIDER_PERMISSION_DENIED,
      `may not publish to "${topic}": the NATS server refused it (permissions of the account or user)`,
      denied,
    );
  }

  private checkSubject(subject: string, subscribing: boolean): void {
    const problem = validateNatsSubject(subject, { allowWildcards: subscribing });
    if (problem) throw new StreamgateError(ErrorCode.SUBJECT_INVALID, problem);
  }
}

/** Stream-hook headers as a NATS header block. */
function natsHeaders(h: Readonly<Record<string, string>>): MsgHdrs {
  const out = createHeaders();
  for (const [name, value] of Object.entries(h)) out.set(name, value);
  return out;
}
