/**
 * How many replays one provider runs at once. A replay costs the broker a consumer (a JetStream
 * ordered consumer, a Kafka consumer instance with its own threads); ten thousand clients resuming
 * together after a restart would otherwise ask for ten thousand of them at once, and each would
 * crawl until `resume_timeout` cut it off with a gap. Waiting here costs nothing but the wait:
 * the client's live events are held meanwhile, and the timeout only counts once a replay runs.
 */
export class ReplayLimiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Waits for a slot; resolves to its release, or to undefined when `signal` aborted first. */
  acquire(signal: AbortSignal): Promise<(() => void) | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        signal.removeEventListener("abort", leave);
        this.running++;
        resolve(this.releaser());
      };
      const leave = (): void => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        resolve(undefined);
      };
      signal.addEventListener("abort", leave, { once: true });
      this.queue.push(grant);
    });
  }

  /** Replays waiting for a slot (a gauge for operators). */
  get waiting(): number {
    return this.queue.length;
  }

  get active(): number {
    return this.running;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.queue.shift()?.();
    };
  }
}
