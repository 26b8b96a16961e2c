/**
 * The handle of an operation that has not started yet: the transport has it at once, the
 * operation comes later (after an asynchronous create hook decided its topics, or after
 * graphql-jit was loaded for the first operation of a thread). Cancelled before then, the
 * operation is cancelled the moment it comes, or not started at all by callers that check.
 */
import type { RunningOperation } from "./types.js";

const NO_CURSOR = (): undefined => undefined;

export class PendingOperation implements RunningOperation {
  private inner: RunningOperation | undefined;
  private attached = false;
  cancelled = false;

  attach(op: RunningOperation): void {
    this.attached = true;
    if (this.cancelled) op.cancel();
    else this.inner = op;
  }

  cancel(): void {
    this.cancelled = true;
    this.inner?.cancel();
  }

  /**
   * Transports read the presence of `cursor` as "at-least-once" (idle cursors, a drain that
   * drops the stream rather than completing it). Not known until the operation came: until then
   * it is assumed (a heartbeat then finds no cursor and sends nothing); afterwards it is the
   * operation's own.
   */
  get cursor(): (() => string | undefined) | undefined {
    if (!this.attached) return NO_CURSOR;
    const inner = this.inner;
    return inner?.cursor ? () => inner.cursor?.() : undefined;
  }
}
