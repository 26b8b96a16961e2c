/**
 * The session buffer as a provider decorator (spec/delivery.md, "Providers without replay";
 * docs/delivery.md): wraps an at-least-once NATS or Redis provider and implements the same
 * Provider interface, making its core subjects / pub/sub channels replayable through logs in
 * Redis (buffer.ts) shared by every router instance, so a client resumes its cursor on any of
 * them. JetStream subscriptions (`options.stream`), publish, request and health pass through.
 */
import type { RedisProviderConfig } from "../../config/types.js";
import { ErrorCode, type ErrorCodeValue, StreamgateError } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import type {
  BrokerEvent,
  ConsumerLag,
  EventPosition,
  EventsHandler,
  Provider,
  ProviderHealth,
  ProviderKind,
  ReplayRequest,
  StreamOptions,
  SubscribeOptions,
  Unsubscribe,
} from "../../providers/provider.js";
import { type BufferSettings, SessionBuffer } from "./buffer.js";
import { parseEventPosition } from "./codec.js";
import { bufferHeads, replayBuffer } from "./replay.js";
import type { SessionBufferStats } from "./stats.js";

export type { BufferSettings } from "./buffer.js";

/** A provider the router starts (src/providers/factory.ts, ManagedProvider). */
export type StartableProvider = Provider & { startInBackground(): Promise<void> };

export class BufferedProvider implements StartableProvider {
  readonly id: string;
  readonly kind: ProviderKind;
  private readonly buffer: SessionBuffer;
  private stopped = false;
  /** Present when the wrapped provider has it (JetStream lag). */
  readonly totalLag?: () => Promise<number>;
  readonly consumerLag?: () => Promise<readonly ConsumerLag[]>;

  constructor(
    private readonly inner: StartableProvider,
    storeConfig: RedisProviderConfig,
    private readonly settings: BufferSettings,
    logger: Logger,
  ) {
    this.id = inner.id;
    this.kind = inner.kind;
    this.buffer = new SessionBuffer(inner.id, inner, storeConfig, settings, logger);
    if (inner.totalLag) this.totalLag = () => inner.totalLag!();
    if (inner.consumerLag) this.consumerLag = () => inner.consumerLag!();
  }

  /** Starts the broker (rejecting as it does) and the buffer (which never rejects: at most once). */
  async start(): Promise<void> {
    await this.inner.start();
    await this.buffer.start();
  }

  async startInBackground(): Promise<void> {
    await Promise.all([this.inner.startInBackground(), this.buffer.start()]);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.buffer.stop();
    await this.inner.stop();
  }

  health(): ProviderHealth {
    return this.inner.health();
  }

  publish(topic: string, data: Uint8Array): Promise<void> {
    return this.inner.publish(topic, data);
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.inner.request(subject, data, timeoutMs);
  }

  /** The buffer's figures, for /metrics (stats.ts). */
  sessionBuffer(): SessionBufferStats {
    return this.buffer.stats();
  }

  async subscribe(
    topics: readonly string[],
    onEvents: EventsHandler,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe> {
    if (options?.stream) return this.inner.subscribe(topics, onEvents, options);
    if (this.stopped) throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "is stopped");
    return this.buffer.join(topics, onEvents);
  }

  /** Buffered subscriptions replay while the buffer answers; JetStream ones as the broker does. */
  canReplay(stream: StreamOptions | undefined): boolean {
    return stream ? this.inner.canReplay?.(stream) === true : this.buffer.available;
  }

  notReplayableReason(stream: StreamOptions | undefined): string | undefined {
    if (stream || this.buffer.available) return undefined;
    return `the session buffer (redis provider "${this.settings.storeId}") is unavailable`;
  }

  positionOf(event: BrokerEvent, stream: StreamOptions | undefined): EventPosition | undefined {
    return stream ? this.inner.positionOf?.(event, stream) : parseEventPosition(event.position);
  }

  async heads(
    topics: readonly string[],
    stream: StreamOptions | undefined,
  ): Promise<Readonly<Record<string, number>>> {
    if (stream) return this.inner.heads ? this.inner.heads(topics, stream) : {};
    if (!this.buffer.available) return {};
    return bufferHeads(this.buffer.store, this.id, topics);
  }

  async replay(req: ReplayRequest): Promise<void> {
    if (req.stream) {
      if (!this.inner.replay) throw this.error(ErrorCode.PROVIDER_NOT_BUILT, "cannot replay this stream");
      return this.inner.replay(req);
    }
    if (!this.buffer.available)
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "cannot replay: the session buffer is unavailable");
    // A failure here may be the client's resolution as well as Redis: the buffer's connections
    // report an outage by themselves, so this only says the replay failed.
    try {
      this.buffer.counters.invalidEntries += await replayBuffer(this.buffer.store, this.id, req);
    } catch (err) {
      throw this.error(ErrorCode.PROVIDER_UNAVAILABLE, "could not replay from the session buffer", err);
    }
  }

  private error(code: ErrorCodeValue, what: string, cause?: unknown): StreamgateError {
    return new StreamgateError(
      code,
      `provider "${this.id}" ${what}`,
      cause === undefined ? undefined : { cause },
    );
  }
}
