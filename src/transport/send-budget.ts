/**
 * How many bytes all WebSockets together may hold in user space because the kernel would not take
 * them yet. A per-socket limit alone bounds memory at connections × max_backpressure: 10k clients
 * that all fall behind (a stalled network, a generator that cannot keep up) could hold gigabytes.
 * With the budget, once the sum is over `max_total_backpressure`, any socket holding more than
 * BEHIND_BYTES is treated as past its limit, so the clients holding the backlog get the slow-client
 * policy and the ones that keep up are untouched.
 *
 * Pure bookkeeping: sockets report the buffered amount they last observed (after a write, on a
 * drain, 0 on close), and ask whether a given holding is over the line before they write more.
 */

/** A socket holding more than this while the budget is exhausted is one of the sockets behind. */
export const BEHIND_BYTES = 64 * 1024;

export class SendBudget {
  private held = 0;

  constructor(
    /** Bytes one socket may hold (limits.max_backpressure). */
    readonly perSocket: number,
    /** Bytes all sockets may hold together (limits.max_total_backpressure). */
    readonly total: number,
  ) {}

  /** Bytes held in user space across every socket, as last observed. */
  get bytes(): number {
    return this.held;
  }

  /** A socket's holding went from `before` to `after` bytes; returns `after` for the caller to keep. */
  track(before: number, after: number): number {
    this.held += after - before;
    return after;
  }

  /** Whether a socket holding `buffered` bytes must not be given more. */
  exceeded(buffered: number): boolean {
    return buffered > this.perSocket || (this.held > this.total && buffered > BEHIND_BYTES);
  }
}

/** What happens to a client past its limit (limits.slow_client_policy), with the counts it keeps. */
export class SlowClientPolicy {
  constructor(
    readonly mode: "drop" | "close",
    private readonly counters: { dropped: number; slowClosed: number },
  ) {}

  /**
   * `frames` could not be sent to a client that is behind: under `drop` they are counted and
   * forgotten; under `close` the client is closed by `close()`. True when the client was closed.
   */
  refuse(frames: number, close: () => void): boolean {
    if (this.mode === "drop") {
      this.counters.dropped += frames;
      return false;
    }
    this.counters.slowClosed++;
    close();
    return true;
  }
}
