/**
 * Reconnect delays: exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"): the delay is uniform in [0, min(max, base · 2^attempt)]. Full jitter
 * spreads a crowd of clients that lost the same router over the whole window, so a restarted
 * router is not hit by all of them in the same millisecond.
 */

/** Backoff settings; every field in milliseconds. */
export interface BackoffOptions {
  /** The window of the first retry (attempt 0). Default 500. */
  readonly baseMs?: number;
  /** The window never grows past this. Default 30 000. */
  readonly maxMs?: number;
}

/** The delay before retry number `attempt` (0-based); `random` returns [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random): number {
  const base = options.baseMs ?? 500;
  const max = options.maxMs ?? 30_000;
  // 2^attempt overflows to Infinity past ~1024: cap the exponent, the window is capped anyway.
  const window = Math.min(max, base * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * window);
}
