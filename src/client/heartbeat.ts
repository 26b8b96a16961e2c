/**
 * The WebSocket heartbeat: a client `ping` every `intervalMs`; if nothing at all arrives within
 * `timeoutMs` after it (a pong, or any other frame: they prove the connection alive too), the
 * connection is silent and `onSilent` drops it. A dead TCP connection may otherwise take minutes
 * to report its close.
 */
export class Heartbeat {
  private lastReceived = 0;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  /** Something arrived on the connection. */
  received(): void {
    this.lastReceived = Date.now();
  }

  start(ping: () => void, onSilent: () => void): void {
    this.stop();
    this.received();
    if (!(this.intervalMs > 0)) return;
    this.pingTimer = setInterval(() => {
      const sentAt = Date.now();
      ping();
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => {
        if (this.lastReceived < sentAt) onSilent();
      }, this.timeoutMs);
    }, this.intervalMs);
  }

  stop(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
  }
}
