/**
 * The reconnect backoff every broker provider uses, in its two forms: by time since the outage
 * began (nats.js calls its delay handler a varying number of times per dial, and the Kafka probe
 * and background starts run on their own clocks) and by attempt number (ioredis counts attempts
 * and resets the count once connected). Both double from `min` up to `max` and add up to 20%
 * jitter, so many routers do not reconnect in lockstep after a broker restart.
 */

const jitter = (base: number): number => Math.round(base * (1 + Math.random() * 0.2));

/** The first second retries at `min`, then the delay doubles each second up to `max`. */
export function backoffByElapsed(elapsedMs: number, minMs: number, maxMs: number): number {
  return jitter(Math.min(maxMs, minMs * 2 ** Math.floor(Math.max(0, elapsedMs) / 1000)));
}

/** Attempt 1 waits `min`, each further attempt doubles it, up to `max`. Never gives up. */
export function backoffByAttempt(attempt: number, minMs: number, maxMs: number): number {
  return jitter(Math.min(maxMs, minMs * 2 ** Math.min(30, Math.max(0, attempt - 1))));
}

/** When the current outage began, for {@link backoffByElapsed}; undefined while connected. */
export class Outage {
  private since: number | undefined;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  /** An outage is going on (begin() was called and end() not since). */
  get ongoing(): boolean {
    return this.since !== undefined;
  }

  /** Marks the outage begun, unless one already is. */
  begin(): void {
    this.since ??= Date.now();
  }

  end(): void {
    this.since = undefined;
  }

  /** The delay before the next attempt; begins the outage if none is going on. */
  delay(): number {
    this.begin();
    return backoffByElapsed(Date.now() - this.since!, this.minMs, this.maxMs);
  }
}
