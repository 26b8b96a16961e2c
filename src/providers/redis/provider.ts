/**
 * Redis pub/sub provider on ioredis: one subscriber connection holding every subscription, with
 * SUBSCRIBE for channels without wildcards and PSUBSCRIBE for real glob patterns (each sent once
 * however many local subscriptions use it, see subscription.ts), and one publisher connection, as
 * the two need opposite offline behaviour (options.ts). ioredis reconnects with our backoff and
 * re-sends the SUBSCRIBEs and PSUBSCRIBEs itself (autoResubscribe); this class
 * adds a start that fails fast, a background start that keeps trying, subscriptions kept while
 * there is no connection, and a `connected` flag that waits for the restored subscriptions.
 */
import type { RedisProviderConfig } from "../../config/types.js";
import { ErrorCode, errorMessage, StreamgateError } from "../../errors.js";
import { BrokerProvider } from "../base.js";
import type { EventsHandler, PublishOptions, SubscribeOptions, Unsubscribe } from "../provider.js";
import { backoffByAttempt } from "../common/backoff.js";
import { redactUrl } from "../common/redact.js";
import { waitAtMost, withTimeout } from "../common/timers.js";
import { type ClientRole, closeClient, createClient, type PubSubClient } from "./client.js";
import {
  checkConfig,
  type RedisProviderOptions,
  type ResolvedRedisOptions,
  resolveOptions,
} from "./options.js";
import { RedisLocalSubscription, SubscriptionTable } from "./subscription.js";

export type { RedisProviderOptions } from "./options.js";

/** Redis implementation of {@link Provider}; see the module comment. */
export class RedisProvider extends BrokerProvider {
  declare readonly kind: "redis";
  private readonly opts: ResolvedRedisOptions;
  private readonly where: string;
  private readonly table = new SubscriptionTable();
  private sub: PubSubClient | undefined;
  private pub: PubSubClient | undefined;
  /** Clients of a connect attempt in progress, so stop() can abort it. */
  private pending: PubSubClient[] = [];
  /** The subscriber is ready and the broker confirmed its (re)subscriptions. */
  private subSynced = false;
  private pubReady = false;
  private everConnected = false;
  private lastError: string | undefined;

  constructor(
    private readonly config: RedisProviderConfig,
    options?: RedisProviderOptions,
  ) {
    checkConfig(config);
    super(config.id, "redis");
    this.where = config.urls.map(redactUrl).join(",");
    this.opts = resolveOptions(config.id, options);
  }

  protected hasClients(): boolean {
    return this.sub !== undefined;
  }

  protected startBackoff(failedAttempts: number): number {
    return backoffByAttempt(failedAttempts, this.opts.minBackoffMs, this.opts.maxBackoffMs);
  }

  protected override abortConnect(): void {
    for (const c of this.pending) c.disconnect();
  }

  protected async closeClients(): Promise<void> {
    this.table.clear();
    await Promise.all(this.detach("stopped").map(closeClient));
  }

  async subscribe(
    topics: readonly string[],
    onEvents: EventsHandler,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe> {
    this.checkSubscribe(options);
    if (topics.length === 0 || topics.includes("")) {
      const what = topics.length ? "channel is empty" : "no channels to subscribe to";
      throw new StreamgateError(ErrorCode.SUBJECT_INVALID, what);
    }
    // Splits the topics into exact channels (SUBSCRIBE) and glob patterns (PSUBSCRIBE), deduplicated.
    const sub = new RedisLocalSubscription(topics, onEvents, options?.onError, this.counters);
    const fresh = this.table.add(sub);
    if (this.sub) this.table.subscribeOn(this.sub, fresh, this.onClientError(this.sub));
    const unsubscribe = async (): Promise<void> => {
      if (!sub.active) return;
      sub.active = false;
      const gone = this.table.remove(sub);
      const client = this.sub;
      if ((gone.channels.length === 0 && gone.patterns.length === 0) || !client) return;
      const done = this.table.unsubscribeOn(client, gone).catch(this.onClientError(client));
      // While the broker is away the (P)UNSUBSCRIBE waits in ioredis' offline queue: don't wait with it.
      if (this.subSynced) await waitAtMost(this.opts.subscribeTimeoutMs, done);
    };
    // Waiting while disconnected would block the caller until the broker is back; the
    // subscription is registered and goes live on reconnect.
    if (this.subSynced) {
      try {
        await waitAtMost(this.opts.subscribeTimeoutMs, Promise.all(this.table.acks(sub)));
      } catch (err) {
        await unsubscribe();
        if (isNoPerm(err)) {
          throw this.error(
            ErrorCode.PROVIDER_PERMISSION_DENIED,
            `may not subscribe to ${JSON.stringify(topics.join(", "))}: Redis refused it (the ACL user's channel permissions)`,
            err,
          );
        }
        throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "could not subscribe", err);
      }
    }
    return unsubscribe;
  }

  async publish(topic: string, data: Uint8Array, options?: PublishOptions): Promise<void> {
    if (topic === "") throw new StreamgateError(ErrorCode.SUBJECT_INVALID, "channel is empty");
    // A Redis pub/sub message is bytes on a channel, nothing else: metadata a hook set would be lost.
    if ((options?.headers && Object.keys(options.headers).length > 0) || options?.key !== undefined)
      throw this.error(ErrorCode.PROVIDER_NOT_BUILT, "Redis pub/sub messages carry no headers or key");
    const pub = this.pub;
    if (!pub) throw this.error(ErrorCode.PUBLISH_FAILED, "is not connected; message not published");
    try {
      // No offline queue on the publisher: while disconnected ioredis rejects at once.
      await pub.publish(topic, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    } catch (err) {
      this.counters.errors++;
      if (isNoPerm(err)) {
        throw this.error(
          ErrorCode.PROVIDER_PERMISSION_DENIED,
          `may not publish to "${topic}": Redis refused it (the ACL user's channel permissions)`,
          err,
        );
      }
      throw this.error(ErrorCode.PUBLISH_FAILED, `could not publish to "${topic}"`, err);
    }
    this.counters.published++;
  }

  protected async connectOnce(): Promise<void> {
    let sub: PubSubClient;
    let pub: PubSubClient;
    try {
      sub = this.watch(createClient(this.config, this.opts, "sub"), "sub");
      pub = this.watch(createClient(this.config, this.opts, "pub"), "pub");
    } catch (err) {
      // The TLS files cannot be read: no client was made.
      this.detail = errorMessage(err);
      throw err;
    }
    this.pending = [sub, pub];
    try {
      // ioredis' connectTimeout bounds the TCP connect; this also bounds the handshake.
      await withTimeout(
        Promise.all([sub.connect(), pub.connect()]),
        this.opts.connectTimeoutMs + 500,
        "connect",
      );
    } catch (err) {
      // A failed start leaves nothing behind: no socket, no reconnect timer.
      sub.disconnect();
      pub.disconnect();
      this.detail = `cannot connect to ${this.where}: ${errorMessage(err)}`;
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, `cannot connect to ${this.where}`, err);
    } finally {
      this.pending = [];
    }
    if (this.stopped) {
      await Promise.all([closeClient(sub), closeClient(pub)]);
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "was stopped while connecting");
    }
    this.sub = sub;
    this.pub = pub;
    this.pubReady = true;
    // Subscriptions made before there was a connection; later ones are sent by subscribe().
    const names = this.table.names();
    this.table.subscribeOn(sub, names, this.onClientError(sub));
    await waitAtMost(this.opts.subscribeTimeoutMs, Promise.all(this.table.acks(names))).catch(
      () => undefined,
    );
    if (this.sub !== sub || sub.status !== "ready") return; // dropped meanwhile: "ready" will sync
    this.subSynced = true;
    this.update();
  }

  /** Follows a client's events; state changes only count for the current clients. */
  private watch(client: PubSubClient, role: ClientRole): PubSubClient {
    const current = () => (role === "sub" ? this.sub : this.pub) === client;
    // Without an error listener ioredis prints every failed reconnect attempt to stderr.
    client.on("error", this.onClientError(client));
    client.on("close", () => {
      if (!current()) return;
      if (role === "sub") this.subSynced = false;
      else this.pubReady = false;
      this.update();
    });
    client.on("ready", () => {
      if (!current()) return;
      if (role === "pub") {
        this.pubReady = true;
        this.update();
        return;
      }
      // ioredis emits "ready" after it wrote the (P)SUBSCRIBEs of autoResubscribe and the offline
      // queue; a PING answered after them proves the broker has processed every one.
      client.ping().then(
        () => {
          if (!current() || client.status !== "ready") return;
          this.subSynced = true;
          this.update();
        },
        () => undefined, // closed again: the next "ready" tries again
      );
    });
    // Only when ioredis gives up, which our retry strategies never do: start over all the same.
    client.on("end", () => {
      if (!current() || this.stopped) return;
      for (const c of this.detach("connection ended; reconnecting")) c?.disconnect();
      void this.startInBackground();
    });
    if (role === "sub") {
      // A message on a channel that is both SUBSCRIBEd and matched by PSUBSCRIBEd patterns comes
      // once as `message` and once per pattern as `pmessage`; the table delivers it once per
      // local subscription (RedisLocalSubscription.deliverPattern).
      client.on("messageBuffer", (channel: Buffer, message: Buffer) => {
        if (current()) this.table.dispatchMessage(channel.toString(), message);
      });
      client.on("pmessageBuffer", (pattern: string | Buffer, channel: Buffer, message: Buffer) => {
        if (current()) this.table.dispatchPMessage(String(pattern), channel.toString(), message);
      });
    }
    return client;
  }

  /** Forgets the current clients (now disconnected, with `detail`) and returns them. */
  private detach(detail: string): (PubSubClient | undefined)[] {
    const clients = [this.sub, this.pub];
    this.sub = undefined;
    this.pub = undefined;
    this.subSynced = false;
    this.pubReady = false;
    this.update();
    this.detail = detail;
    return clients;
  }

  /** Recomputes `connected` and the reconnect counter from both clients' state. */
  private update(): void {
    const now = this.sub !== undefined && this.subSynced && this.pubReady;
    if (now && !this.connected) {
      if (this.everConnected) this.counters.reconnects++;
      this.everConnected = true;
      this.detail = undefined;
    } else if (!now && this.sub) {
      this.detail = `disconnected from ${this.where}; reconnecting${this.lastError ? ` (last error: ${this.lastError})` : ""}`;
    }
    this.connected = now;
  }

  /** Counts an error of `client`, unless it comes from our own disconnect of an old client. */
  private onClientError(client: PubSubClient): (err: unknown) => void {
    return (err) => {
      if (this.stopped || ![this.sub, this.pub, ...this.pending].includes(client)) return;
      this.counters.errors++;
      this.lastError = errorMessage(err);
    };
  }
}

/** Redis' answer to a command the ACL user may not run on those channels. */
const isNoPerm = (err: unknown): boolean => /^NOPERM\b/.test(errorMessage(err));
