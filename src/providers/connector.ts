/**
 * The connection lifecycle every broker provider shares (NATS, Kafka, Redis): a start that makes
 * one attempt and fails fast, shared by concurrent callers; a background start that repeats it
 * with backoff until connected or stopped; and a stop that ends both promptly. What one attempt
 * does, and what "connected" means, stays with the provider. The broker clients reconnect by
 * themselves once connected; this only covers getting the first connection (or a new one after a
 * client gave up).
 */
import { ErrorCode, StreamgateError } from "../errors.js";
import { Sleeper } from "./common/timers.js";

/** What a {@link Connector} needs from its provider. */
export interface ConnectorOptions {
  /** Names the provider in errors, e.g. `NATS provider "events"`. */
  readonly label: string;
  /**
   * One connection attempt: resolves once connected, or rejects (having recorded why for the
   * provider's health) when the broker cannot be reached or the connector was stopped meanwhile.
   */
  readonly connectOnce: () => Promise<void>;
  /** The provider holds its clients (they may be reconnecting by themselves): nothing to start. */
  readonly isConnected: () => boolean;
  /**
   * Delay (ms) before the next background attempt, given the number of attempts that failed so
   * far (1 after the first) and the time since the background start began.
   */
  readonly backoff: (failedAttempts: number, elapsedMs: number) => number;
  /** Run by stop() right after it marks the connector stopped: abort an attempt in progress. */
  readonly onStop?: () => void;
}

/** Single-flight start, background retry with backoff, and a stop that ends both. */
export class Connector {
  private connecting: Promise<void> | undefined;
  private background: Promise<void> | undefined;
  private readonly sleeper = new Sleeper();
  private halted = false;

  constructor(private readonly o: ConnectorOptions) {}

  /** stop() was called; the connector never starts again. */
  get stopped(): boolean {
    return this.halted;
  }

  /**
   * One attempt, unless already connected; concurrent calls share it. Rejects with whatever the
   * attempt rejected with, or PROVIDER_UNAVAILABLE once stopped.
   */
  async start(): Promise<void> {
    if (this.halted) throw new StreamgateError(ErrorCode.PROVIDER_UNAVAILABLE, `${this.o.label} is stopped`);
    if (this.o.isConnected()) return;
    this.connecting ??= this.o.connectOnce().finally(() => {
      this.connecting = undefined;
    });
    await this.connecting;
  }

  /**
   * Keeps calling start() with backoff until connected or stopped; concurrent calls share the
   * loop. The promise never rejects: it resolves when connected, or when stop() ends the attempts.
   */
  startInBackground(): Promise<void> {
    this.background ??= this.retry().finally(() => {
      this.background = undefined;
    });
    return this.background;
  }

  /**
   * Stops for good: wakes a background start sleeping between attempts and resolves once the
   * attempt in progress (if any) and the background start have ended. The provider closes its
   * clients after that.
   */
  async stop(): Promise<void> {
    this.halted = true;
    this.sleeper.wake();
    this.o.onStop?.();
    await this.connecting?.catch(() => undefined);
    await this.background;
  }

  private async retry(): Promise<void> {
    const since = Date.now();
    for (let failed = 1; !this.halted && !this.o.isConnected(); failed++) {
      try {
        await this.start();
        return;
      } catch {
        // The attempt recorded why for the provider's health, which reports it until connected.
        if (this.halted) return;
        await this.sleeper.sleep(this.o.backoff(failed, Date.now() - since));
      }
    }
  }
}
