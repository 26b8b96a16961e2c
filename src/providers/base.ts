/**
 * What every broker provider (NATS, Kafka, Redis) shares, over the {@link Connector} lifecycle:
 * start / startInBackground / stop, the connected flag and its human-readable detail, the traffic
 * counters, health(), typed errors naming the provider, and the refusals common to brokers that
 * cannot do something (request/reply outside NATS, JetStream options outside NATS). A provider
 * folder keeps only what is specific to its broker: how one connection attempt is made, what
 * "connected" means, and how its clients are closed.
 */
import { ErrorCode, type ErrorCodeValue, StreamgateError } from "../errors.js";
import { Connector } from "./connector.js";
import {
  type EventsHandler,
  newCounters,
  type Provider,
  type ProviderHealth,
  type ProviderKind,
  type PublishOptions,
  type SubscribeOptions,
  type Unsubscribe,
} from "./provider.js";

const KIND_LABEL: Readonly<Record<ProviderKind, string>> = { nats: "NATS", kafka: "Kafka", redis: "Redis" };

/** Lag figures kept for health: the last probe's total, and the configured ceiling. */
export interface LagState {
  /** Messages behind over every consumer at the last probe; undefined before one. */
  readonly total?: number;
  /** `health.max_lag` of the provider's config; undefined = never lagging. */
  readonly max?: number;
}

/** See the module comment. Subclasses implement the abstract members. */
export abstract class BrokerProvider implements Provider {
  protected readonly counters = newCounters();
  /** The provider can do its work right now (its own definition, e.g. subscriptions restored). */
  protected connected = false;
  /** Why it is not connected; shown by health() while not connected. */
  protected detail: string | undefined = "not started";
  protected readonly connector: Connector;
  /** Last lag probe (see {@link watchLag}), for health(). */
  protected lagState: LagState = {};
  private lagWatch: { readonly intervalMs: number; timer?: NodeJS.Timeout } | undefined;

  protected constructor(
    readonly id: string,
    readonly kind: ProviderKind,
  ) {
    this.connector = new Connector({
      label: this.label,
      connectOnce: () => this.connectOnce(),
      isConnected: () => this.hasClients(),
      backoff: (failed, elapsed) => this.startBackoff(failed, elapsed),
      onStop: () => this.abortConnect(),
    });
  }

  /** One connection attempt; rejects (having set `detail`) when the broker cannot be reached. */
  protected abstract connectOnce(): Promise<void>;
  /** The provider holds clients (which may be reconnecting by themselves): nothing to start. */
  protected abstract hasClients(): boolean;
  /** Delay before the next background start attempt (see ConnectorOptions.backoff). */
  protected abstract startBackoff(failedAttempts: number, elapsedMs: number): number;
  /** Closes every subscription and client, after the connector has stopped. */
  protected abstract closeClients(): Promise<void>;
  /** Aborts a connect attempt in progress; called first thing by stop(). */
  protected abortConnect(): void {}

  abstract subscribe(
    topics: readonly string[],
    onEvents: EventsHandler,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe>;
  abstract publish(topic: string, data: Uint8Array, options?: PublishOptions): Promise<void>;

  /** `NATS provider "events"`: how messages name this provider. */
  protected get label(): string {
    return `${KIND_LABEL[this.kind]} provider "${this.id}"`;
  }

  /** Connects once; rejects fast with PROVIDER_UNAVAILABLE when the broker cannot be reached. */
  start(): Promise<void> {
    this.startLagWatch();
    return this.connector.start();
  }

  /**
   * Keeps calling start() with backoff until connected or stopped, for a broker that was down when
   * the router started. Subscriptions made meanwhile are established once connected. The promise
   * never rejects: it resolves when connected, or when stop() ends the attempts (check health()).
   */
  startInBackground(): Promise<void> {
    this.startLagWatch();
    return this.connector.startInBackground();
  }

  /** Ends any start in progress, then closes subscriptions and clients. Idempotent. */
  async stop(): Promise<void> {
    clearInterval(this.lagWatch?.timer);
    await this.connector.stop();
    await this.closeClients();
    this.connected = false;
    this.detail = "stopped";
  }

  /** Request/reply is NATS only; NatsProvider overrides this. */
  async request(subject: string, _data: Uint8Array, _timeoutMs: number): Promise<Uint8Array> {
    throw this.error(ErrorCode.PROVIDER_NOT_BUILT, `cannot answer request "${subject}" (NATS only)`);
  }

  health(): ProviderHealth {
    const { total, max } = this.lagState;
    const lagging = max !== undefined && total !== undefined && total > max;
    return {
      id: this.id,
      kind: this.kind,
      connected: this.connected,
      ...(this.connected || this.detail === undefined ? {} : { detail: this.detail }),
      ...(total === undefined ? {} : { lag: total }),
      ...(max === undefined ? {} : { maxLag: max, lagging }),
      counters: { ...this.counters },
    };
  }

  /**
   * With `health.max_lag` configured, probes totalLag() every `intervalMs` once started, so that
   * health() (read synchronously by /health/ready) knows whether the provider is lagging.
   */
  protected watchLag(max: number | undefined, intervalMs: number): void {
    if (max === undefined) return;
    this.lagState = { max };
    this.lagWatch = { intervalMs };
  }

  private startLagWatch(): void {
    const watch = this.lagWatch;
    if (!watch || watch.timer || this.stopped) return;
    let probing = false;
    watch.timer = setInterval(() => {
      if (probing || !this.connected || !this.totalLag) return;
      probing = true;
      this.totalLag()
        .then(
          (total) => {
            this.lagState = { ...this.lagState, total };
          },
          () => undefined, // no figure now; the next probe tries again
        )
        .finally(() => {
          probing = false;
        });
    }, watch.intervalMs);
    // Health bookkeeping must not keep the process alive.
    watch.timer.unref();
  }

  /** Messages behind over this provider's consumers; JetStream and Kafka override it. */
  totalLag?(): Promise<number>;

  /** stop() was called; the provider never connects again. */
  protected get stopped(): boolean {
    return this.connector.stopped;
  }

  /** Refusals every subscribe() starts with: a stopped provider, JetStream options outside NATS. */
  protected checkSubscribe(options: SubscribeOptions | undefined): void {
    if (this.stopped) throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "is stopped");
    if (options?.stream && this.kind !== "nats") {
      throw this.error(ErrorCode.PROVIDER_NOT_BUILT, "cannot consume a JetStream stream (NATS only)");
    }
  }

  /** A typed error whose message names this provider: `NATS provider "x" <what>`. */
  protected error(code: ErrorCodeValue, what: string, cause?: unknown): StreamgateError {
    return new StreamgateError(code, `${this.label} ${what}`, cause === undefined ? undefined : { cause });
  }
}
