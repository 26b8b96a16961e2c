/** What a session needs from a socket; transport adapters (uWS, tests) implement it. */
export interface SessionSocket {
  /** Sends one text frame. The adapter applies the per-socket backpressure policy. */
  send(frame: string): void;
  /**
   * Sends `prefix + body + suffix` as one text frame. The hot path of a broadcast: an adapter may
   * keep the three shared strings and concatenate only when it writes, so a delivery allocates
   * nothing that outlives the write (per-client frames held until the flush were most of the
   * garbage V8 promoted at 100 ev/s to 10k clients; profiles/README.md).
   */
  sendSpliced(prefix: string, body: string, suffix: string): void;
  /** Closes with a WebSocket close code; no further sends happen. */
  close(code: number, reason: string): void;
}

/** Timers are injected so the state machine is testable without real time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers = {
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (h: unknown): void => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn: () => void, ms: number): unknown => setInterval(fn, ms),
  clearInterval: (h: unknown): void => clearInterval(h as NodeJS.Timeout),
};

export interface SessionLimits {
  readonly connectionInitTimeoutMs: number;
  readonly maxSubscriptions: number;
}

/** The part of the engine a session uses. */
export type { OperationRequest, OperationSink, RunningOperation } from "../engine/types.js";
