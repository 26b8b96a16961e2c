/**
 * Token buckets per user (a verified claim) or per client IP, on subscribe operations and publish
 * mutations (`rate_limit` in the config). A bucket holds `burst` tokens and refills `rate` per
 * second; an operation takes one or is refused with the seconds until one is back. Buckets that
 * have refilled are forgotten, so memory follows the clients that are actually busy.
 */
import type { RateLimitBucketConfig } from "../config/types.js";
import type { RequestContext } from "../engine/types.js";

interface Bucket {
  tokens: number;
  /** Milliseconds (the limiter's clock) when `tokens` was last brought up to date. */
  at: number;
}

/** Sweep the full buckets out once the map holds this many, */
const SWEEP_AT = 4096;
/** or when a new client comes this long after the last sweep. */
const SWEEP_EVERY_MS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly perMs: number;
  private readonly claimPath: readonly string[] | undefined;
  private sweepAt = SWEEP_AT;
  private lastSweep: number;

  constructor(
    config: RateLimitBucketConfig,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.burst = config.burst ?? Math.max(1, Math.ceil(config.rate * 2));
    this.perMs = config.rate / 1000;
    this.claimPath = config.key.startsWith("claim:") ? config.key.slice(6).split(".") : undefined;
    this.lastSweep = now();
  }

  /** Whose bucket an operation of `ctx` takes from. */
  keyOf(ctx: RequestContext): string {
    if (this.claimPath && ctx.auth) {
      let v: unknown = ctx.auth.claims;
      for (const p of this.claimPath)
        v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
      if (typeof v === "string" || typeof v === "number") return `c:${v}`;
    }
    // No such claim (anonymous, or a token without it): the client's address stands in.
    return `i:${ctx.ip}`;
  }

  /** Takes one token: undefined when allowed, else the seconds until the next token. */
  take(ctx: RequestContext): number | undefined {
    const now = this.now();
    const key = this.keyOf(ctx);
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.sweepAt || now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs)) / 1000;
  }

  /** Buckets tracked now. */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, b] of this.buckets)
      if (b.tokens + (now - b.at) * this.perMs >= this.burst) this.buckets.delete(k);
    // Many busy clients: sweep less often rather than on every new one.
    this.sweepAt = Math.max(SWEEP_AT, this.buckets.size * 2);
  }
}
