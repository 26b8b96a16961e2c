/**
 * What every WebSocket session does whatever its wire protocol: the operations map, per-connection
 * limits, the init timeout, sending only while open, stopping every operation when the socket goes.
 * Subclasses parse their protocol and name their frames.
 */
import { ErrorCode } from "../errors.js";
import type { Engine } from "../engine/engine.js";
import type { PlanError } from "../planner/plan.js";
import { CloseCode, closeReason } from "../protocol/graphql-transport-ws.js";
import type {
  OperationRequest,
  OperationSink,
  RunningOperation,
  SessionLimits,
  SessionSocket,
  Timers,
} from "./socket.js";

/** Placeholder while an operation is starting (its sink may finish it synchronously). */
const STARTING: RunningOperation = { cancel() {} };

/** The frames a protocol sends for an operation. */
export interface OperationFrames {
  /** Cached once per operation: each event is one concatenation, not a serialization. */
  nextPrefix(id: string): string;
  readonly nextSuffix: string;
  error(id: string, errors: readonly PlanError[]): string;
  complete(id: string): string;
}

/** One client operation's sink; small, allocated per subscription. */
class OperationFrameSink implements OperationSink {
  private readonly prefix: string;
  constructor(
    private readonly session: BaseSession,
    private readonly id: string,
  ) {
    this.prefix = session.frames.nextPrefix(id);
  }
  next(payloadJson: string): void {
    this.session.sendSpliced(this.prefix, payloadJson, this.session.frames.nextSuffix);
  }
  error(errors: readonly PlanError[]): void {
    if (this.session.finish(this.id)) this.session.send(this.session.frames.error(this.id, errors));
  }
  complete(): void {
    if (this.session.finish(this.id)) this.session.send(this.session.frames.complete(this.id));
  }
}

export interface ConnectionContext {
  /** `connection_init` payload (e.g. Authorization), once received. */
  connectionParams: Readonly<Record<string, unknown>> | null;
}

export abstract class BaseSession {
  protected state: "awaiting_init" | "acknowledged" | "closed" = "awaiting_init";
  private initTimer: unknown;
  protected readonly ops = new Map<string, RunningOperation>();
  readonly context: ConnectionContext = { connectionParams: null };
  abstract readonly frames: OperationFrames;

  constructor(
    protected readonly socket: SessionSocket,
    protected readonly engine: Pick<Engine, "execute">,
    protected readonly limits: SessionLimits,
    protected readonly timers: Timers,
    initTimeoutCode: number,
  ) {
    this.initTimer = timers.setTimeout(() => {
      if (this.state === "awaiting_init")
        this.closeWith(initTimeoutCode, "Connection initialisation timeout");
    }, limits.connectionInitTimeoutMs);
  }

  /** Feeds one client frame. Never throws. */
  abstract onMessage(data: string | ArrayBuffer | Uint8Array): void;

  get operationCount(): number {
    return this.ops.size;
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  /** Parses a frame with the protocol's parser; a bad frame closes 4400 and yields undefined. */
  protected parse<M>(
    data: string | ArrayBuffer | Uint8Array,
    parser: (
      d: string | ArrayBuffer | Uint8Array,
    ) => { ok: true; message: M } | { ok: false; reason: string },
  ): M | undefined {
    if (this.state === "closed") return undefined;
    const parsed = parser(data);
    if (parsed.ok) return parsed.message;
    this.closeWith(CloseCode.BadRequest, parsed.reason);
    return undefined;
  }

  /** Handles `connection_init`: false (after closing 4429) when the connection was already acked. */
  protected init(params: Readonly<Record<string, unknown>> | null | undefined): boolean {
    if (this.state === "acknowledged") {
      this.closeWith(CloseCode.TooManyInitialisationRequests, "Too many initialisation requests");
      return false;
    }
    this.acknowledge(params);
    return true;
  }

  /** Operations need an acknowledged connection; before that the socket closes 4401. */
  protected requireAck(): boolean {
    if (this.state === "acknowledged") return true;
    this.closeWith(CloseCode.Unauthorized, "Unauthorized");
    return false;
  }

  private acknowledge(params: Readonly<Record<string, unknown>> | null | undefined): void {
    this.timers.clearTimeout(this.initTimer);
    // A cleared Node Timeout is still ~120 B per connection while referenced.
    this.initTimer = undefined;
    this.context.connectionParams = params ?? {};
    this.state = "acknowledged";
  }

  /** Starts an operation; false when refused by the per-connection limit (an error was sent). */
  protected start(id: string, payload: OperationRequest): boolean {
    if (this.ops.size >= this.limits.maxSubscriptions) {
      const message = `too many operations on this connection (limit ${this.limits.maxSubscriptions})`;
      this.send(this.frames.error(id, [{ message, extensions: { code: ErrorCode.LIMIT_EXCEEDED } }]));
      return false;
    }
    this.ops.set(id, STARTING);
    const running = this.engine.execute(payload, new OperationFrameSink(this, id));
    // The sink may already have finished the operation (an error, a synchronous query).
    if (this.ops.get(id) === STARTING) this.ops.set(id, running);
    return true;
  }

  /** The client stopped operation `id`. */
  protected stop(id: string): void {
    const op = this.ops.get(id);
    if (!op) return;
    this.ops.delete(id);
    op.cancel();
  }

  /** Removes a finished operation; false when it was already gone (client completed it). */
  finish(id: string): boolean {
    return this.ops.delete(id);
  }

  send(frame: string): void {
    if (this.state !== "closed") this.socket.send(frame);
  }

  sendSpliced(prefix: string, body: string, suffix: string): void {
    if (this.state !== "closed") this.socket.sendSpliced(prefix, body, suffix);
  }

  /** Server-initiated close (protocol violation, shutdown, slow consumer). */
  closeWith(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.onClosed();
    this.socket.close(code, closeReason(reason));
  }

  /** Shutdown: tell every operation it is over, then close 1001. */
  goAway(): void {
    if (this.state === "closed") return;
    for (const id of [...this.ops.keys()]) this.send(this.frames.complete(id));
    this.closeWith(1001, "server shutting down");
  }

  /** The socket is gone (either side closed it): stop every operation. */
  onClosed(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.timers.clearTimeout(this.initTimer);
    this.onStateClosed();
    for (const op of this.ops.values()) op.cancel();
    this.ops.clear();
  }

  /** Hook for subclasses' own timers. */
  protected onStateClosed(): void {}
}
