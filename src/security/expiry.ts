/**
 * When each connection's token expires. One timer for the whole process instead of one per
 * connection: deadlines are kept in one-second buckets and a single timer, armed only while a
 * deadline is pending, fires the buckets that are due. 10k authenticated clients cost 10k small
 * entries, not 10k Node timers.
 */

type Callback = () => void;

const BUCKET_MS = 1000;

export class ExpiryWatch {
  private readonly buckets = new Map<number, Set<Callback>>();
  private timer: NodeJS.Timeout | undefined;
  private due = Number.POSITIVE_INFINITY;

  constructor(private readonly now: () => number = Date.now) {}

  /** Calls `expired` once `at` (epoch ms) has passed, within a second; returns the cancel. */
  watch(at: number, expired: Callback): () => void {
    const bucket = Math.ceil(at / BUCKET_MS);
    let set = this.buckets.get(bucket);
    if (!set) {
      set = new Set();
      this.buckets.set(bucket, set);
    }
    set.add(expired);
    this.arm(bucket);
    const s = set;
    return () => {
      s.delete(expired);
      if (s.size === 0 && this.buckets.get(bucket) === s) this.buckets.delete(bucket);
    };
  }

  /** Deadlines pending. */
  get size(): number {
    let n = 0;
    for (const s of this.buckets.values()) n += s.size;
    return n;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.buckets.clear();
    this.due = Number.POSITIVE_INFINITY;
  }

  private arm(bucket: number): void {
    if (bucket >= this.due) return;
    clearTimeout(this.timer);
    this.due = bucket;
    const delay = Math.max(0, bucket * BUCKET_MS - this.now());
    // Long waits are re-armed on the way: setTimeout caps at ~24.8 days.
    this.timer = setTimeout(this.fire, Math.min(delay, 2 ** 31 - 1));
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.due = Number.POSITIVE_INFINITY;
    const nowBucket = Math.floor(this.now() / BUCKET_MS);
    const callbacks: Callback[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [bucket, set] of this.buckets) {
      if (bucket <= nowBucket) {
        this.buckets.delete(bucket);
        callbacks.push(...set);
      } else if (bucket < next) next = bucket;
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    for (const cb of callbacks) {
      try {
        cb();
      } catch {
        // One connection's expiry handler must not keep the others from expiring.
      }
    }
  };
}
