/**
 * graphql-transport-ws session: a state machine from `opened` to `closed` with no I/O of its own.
 * Protocol violations become close codes, never exceptions; one socket's mistakes never reach
 * another socket.
 */
import type { Engine } from "../engine/engine.js";
import type { PlanError } from "../planner/plan.js";
import {
  CloseCode,
  closeReason,
  complete,
  connectionAck,
  errorMessage,
  NEXT_FRAME_SUFFIX,
  nextFramePrefix,
  parseClientMessage,
  pong,
} from "../protocol/graphql-transport-ws.js";
import type { OperationSink, RunningOperation, SessionLimits, SessionSocket, Timers } from "./socket.js";

type State = "awaiting_init" | "acknowledged" | "closed";

/** Placeholder while an operation is starting (its sink may finish it synchronously). */
const STARTING: RunningOperation = { cancel() {} };

/**
 * One client operation's sink. Kept small: it is allocated per subscription and holds the
 * pre-built frame prefix so each event is one concatenation, not a serialization.
 */
class OperationFrameSink implements OperationSink {
  private readonly prefix: string;
  constructor(
    private readonly session: TransportWsSession,
    private readonly id: string,
  ) {
    this.prefix = nextFramePrefix(id);
  }
  next(payloadJson: string): void {
    this.session.send(this.prefix + payloadJson + NEXT_FRAME_SUFFIX);
  }
  error(errors: readonly PlanError[]): void {
    if (this.session.finish(this.id)) this.session.send(errorMessage(this.id, errors));
  }
  complete(): void {
    if (this.session.finish(this.id)) this.session.send(complete(this.id));
  }
}

export interface ConnectionContext {
  /** `connection_init` payload (e.g. Authorization), once received. */
  connectionParams: Readonly<Record<string, unknown>> | null;
}

export class TransportWsSession {
  private state: State = "awaiting_init";
  private initTimer: unknown;
  private readonly ops = new Map<string, RunningOperation>();
  readonly context: ConnectionContext = { connectionParams: null };

  constructor(
    private readonly socket: SessionSocket,
    private readonly engine: Pick<Engine, "execute">,
    private readonly limits: SessionLimits,
    private readonly timers: Timers,
  ) {
    this.initTimer = timers.setTimeout(() => {
      if (this.state === "awaiting_init") {
        this.closeWith(CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout");
      }
    }, limits.connectionInitTimeoutMs);
  }

  get operationCount(): number {
    return this.ops.size;
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  /** Feeds one client frame. Never throws. */
  onMessage(data: string | ArrayBuffer | Uint8Array): void {
    if (this.state === "closed") return;
    const parsed = parseClientMessage(data);
    if (!parsed.ok) {
      this.closeWith(CloseCode.BadRequest, parsed.reason);
      return;
    }
    const msg = parsed.message;
    switch (msg.type) {
      case "connection_init":
        if (this.context.connectionParams !== null || this.state === "acknowledged") {
          this.closeWith(CloseCode.TooManyInitialisationRequests, "Too many initialisation requests");
          return;
        }
        this.timers.clearTimeout(this.initTimer);
        this.context.connectionParams = msg.payload ?? {};
        this.state = "acknowledged";
        this.send(connectionAck());
        return;
      case "ping":
        this.send(pong(msg.payload));
        return;
      case "pong":
        return;
      case "subscribe":
        this.subscribe(msg.id, msg.payload);
        return;
      case "complete": {
        const op = this.ops.get(msg.id);
        if (op) {
          this.ops.delete(msg.id);
          op.cancel();
        }
        return;
      }
    }
  }

  private subscribe(id: string, payload: Parameters<Engine["execute"]>[0]): void {
    if (this.state !== "acknowledged") {
      this.closeWith(CloseCode.Unauthorized, "Unauthorized");
      return;
    }
    if (this.ops.has(id)) {
      this.closeWith(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
      return;
    }
    if (this.ops.size >= this.limits.maxSubscriptions) {
      const message = `too many operations on this connection (limit ${this.limits.maxSubscriptions})`;
      this.send(errorMessage(id, [{ message, extensions: { code: "SG_ERR_LIMIT_EXCEEDED" } }]));
      return;
    }
    this.ops.set(id, STARTING);
    const running = this.engine.execute(payload, new OperationFrameSink(this, id));
    // The sink may already have finished the operation (an error, a synchronous query).
    if (this.ops.get(id) === STARTING) this.ops.set(id, running);
  }

  /** Removes a finished operation; false when it was already gone (client completed it). */
  finish(id: string): boolean {
    return this.ops.delete(id);
  }

  send(frame: string): void {
    if (this.state !== "closed") this.socket.send(frame);
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
    for (const id of [...this.ops.keys()]) this.send(complete(id));
    this.closeWith(CloseCode.GoingAway, "server shutting down");
  }

  /** The socket is gone (either side closed it): stop every operation. */
  onClosed(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.timers.clearTimeout(this.initTimer);
    for (const op of this.ops.values()) op.cancel();
    this.ops.clear();
  }
}
