/**
 * What every WebSocket session does whatever its wire protocol: the operations map, per-connection
 * limits, the init timeout, sending only while open, stopping every operation when the socket goes.
 * Subclasses parse their protocol and name their frames.
 */
import type { PlanError } from "../planner/plan.js";
import { CloseCode, closeReason } from "../protocol/graphql-transport-ws.js";
import type { AuthInfo, EventMeta } from "../engine/types.js";
import { clientError, ErrorCode, publicMessage } from "../errors.js";
import { limitError } from "../security/limits.js";
import { Operations } from "./operations.js";
import type {
  OperationRequest,
  OperationSink,
  RequestContext,
  RunningOperation,
  SessionDeps,
  SessionSecurity,
  SessionSocket,
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
  /** The newest cursor sent to the client (at-least-once operations only). */
  lastCursor: string | undefined;
  constructor(
    private readonly session: BaseSession,
    private readonly id: string,
  ) {
    this.prefix = session.frames.nextPrefix(id);
  }
  next(payloadJson: string, meta?: EventMeta): void {
    if (meta) this.lastCursor = meta.cursor;
    this.session.sendSpliced(this.prefix, payloadJson, this.session.frames.nextSuffix);
  }
  error(errors: readonly PlanError[]): void {
    if (this.session.finish(this.id)) this.session.send(this.session.frames.error(this.id, errors));
  }
  complete(): void {
    if (this.session.finish(this.id)) this.session.send(this.session.frames.complete(this.id));
  }
  /** A start hook's refusal asked to close the connection (its other operations end with it). */
  close(code: number, reason: string): void {
    if (this.session.finish(this.id)) this.session.closeWith(code, reason);
  }
}

export abstract class BaseSession {
  protected state: "awaiting_init" | "initialising" | "acknowledged" | "closed" = "awaiting_init";
  private initTimer: unknown;
  /** Cancels the token-expiry watch; set only while an expiring token is in use. */
  private unwatchExpiry: (() => void) | undefined;
  protected readonly ops = new Operations<RunningOperation>();
  /** At-least-once operations, whose newest cursor idle clients are sent (created on first use). */
  private cursorOps: Map<string, OperationFrameSink> | undefined;
  abstract readonly frames: OperationFrames;

  constructor(
    protected readonly socket: SessionSocket,
    protected readonly deps: SessionDeps,
    /** Who this connection is; `auth` may come from the upgrade request already. */
    readonly ctx: RequestContext,
    initTimeoutCode: number,
  ) {
    this.initTimer = deps.timers.setTimeout(() => {
      if (this.state !== "awaiting_init") return;
      deps.limits.refused?.("connection_init_timeout");
      this.closeWith(initTimeoutCode, "Connection initialisation timeout");
    }, deps.limits.connectionInitTimeoutMs);
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

  /**
   * Handles `connection_init`: a second one closes 4429. A token in the payload is verified first
   * (possibly asynchronously: the JWKS may need fetching); `acked` runs once the connection is
   * acknowledged. A refused token closes 4401, as does a missing one where tokens are required.
   */
  protected init(params: Readonly<Record<string, unknown>> | null | undefined, acked: () => void): void {
    if (this.state !== "awaiting_init") {
      this.closeWith(CloseCode.TooManyInitialisationRequests, "Too many initialisation requests");
      return;
    }
    const security = this.deps.security;
    if (!security) {
      this.acknowledge(params, acked);
      return;
    }
    let result: ReturnType<SessionSecurity["fromPayload"]>;
    try {
      result = security.fromPayload(params, "payload");
    } catch (err) {
      this.refuse(CloseCode.Unauthorized, err);
      return;
    }
    if (!(result instanceof Promise)) {
      this.authenticated(params, result, acked);
      return;
    }
    this.state = "initialising";
    result.then(
      (auth) => {
        if (this.state === "initialising") this.authenticated(params, auth, acked);
      },
      (err) => {
        if (this.state === "initialising") this.refuse(CloseCode.Unauthorized, err);
      },
    );
  }

  private authenticated(
    params: Readonly<Record<string, unknown>> | null | undefined,
    auth: AuthInfo | null,
    acked: () => void,
  ): void {
    if (auth) this.ctx.auth = auth;
    if (this.deps.security?.required && !this.ctx.auth) {
      this.refuse(CloseCode.Unauthorized, this.deps.security.missing());
      return;
    }
    this.acknowledge(params, acked);
    this.watchExpiry();
  }

  /**
   * A fresh token sent while connected (graphql-transport-ws `ping` payload): it replaces the
   * current one, and the expiry moves with it. A bad one closes 4403.
   */
  protected refresh(payload: Readonly<Record<string, unknown>> | null | undefined): void {
    const security = this.deps.security;
    if (!security || this.state !== "acknowledged") return;
    let result: ReturnType<SessionSecurity["fromPayload"]>;
    try {
      result = security.fromPayload(payload, "refresh");
    } catch (err) {
      this.refuse(CloseCode.Forbidden, err);
      return;
    }
    const apply = (auth: AuthInfo | null): void => {
      if (!auth || this.state !== "acknowledged") return;
      const refused = security.replaces(this.ctx.auth, auth);
      if (refused) {
        this.refuse(CloseCode.Forbidden, refused);
        return;
      }
      this.ctx.auth = auth;
      this.watchExpiry();
    };
    if (result instanceof Promise)
      result.then(apply, (err) => {
        if (this.state === "acknowledged") this.refuse(CloseCode.Forbidden, err);
      });
    else apply(result);
  }

  private watchExpiry(): void {
    this.unwatchExpiry?.();
    this.unwatchExpiry = this.deps.security?.watchExpiry(this.ctx, () => {
      this.unwatchExpiry = undefined;
      this.expire();
    });
  }

  /** The token expired: every operation ends with TOKEN_EXPIRED, then the socket closes 4403. */
  private expire(): void {
    if (this.state === "closed") return;
    const errors = [clientError(ErrorCode.TOKEN_EXPIRED, "the token expired; send a fresh one before exp")];
    for (const id of this.ops.ids()) this.send(this.frames.error(id, errors));
    this.closeWith(CloseCode.Forbidden, "Forbidden: token expired");
  }

  /** Closes with `code`, saying why the token was refused (public message only). */
  private refuse(code: number, err: unknown): void {
    const reason = code === CloseCode.Forbidden ? "Forbidden" : "Unauthorized";
    this.closeWith(code, `${reason}: ${publicMessage(err, "invalid token")}`);
  }

  /** Operations need an acknowledged connection; before that the socket closes 4401. */
  protected requireAck(): boolean {
    if (this.state === "acknowledged") return true;
    this.closeWith(CloseCode.Unauthorized, "Unauthorized");
    return false;
  }

  private acknowledge(params: Readonly<Record<string, unknown>> | null | undefined, acked: () => void): void {
    this.deps.timers.clearTimeout(this.initTimer);
    // A cleared Node Timeout is still ~120 B per connection while referenced.
    this.initTimer = undefined;
    if (this.deps.keepConnectionParams) this.ctx.connectionParams = params ?? {};
    this.state = "acknowledged";
    acked();
  }

  /** Starts an operation; false when refused by the per-connection limit (an error was sent). */
  protected start(id: string, payload: OperationRequest): boolean {
    const max = this.deps.limits.maxSubscriptions;
    if (this.ops.size >= max) {
      const message = `too many operations on this connection (limit ${max})`;
      this.deps.limits.refused?.("max_subscriptions_per_connection");
      this.send(this.frames.error(id, [limitError("max_subscriptions_per_connection", message)]));
      return false;
    }
    this.ops.set(id, STARTING);
    const sink = new OperationFrameSink(this, id);
    const running = this.deps.engine.execute(payload, sink, this.ctx);
    // The sink may already have finished the operation (an error, a synchronous query).
    if (this.ops.get(id) === STARTING) {
      this.ops.set(id, running);
      if (running.cursor) {
        this.cursorOps ??= new Map();
        this.cursorOps.set(id, sink);
      }
    }
    return true;
  }

  /** The client stopped operation `id`. */
  protected stop(id: string): void {
    const op = this.ops.get(id);
    if (!op) return;
    this.ops.delete(id);
    this.cursorOps?.delete(id);
    op.cancel();
  }

  /** Removes a finished operation; false when it was already gone (client completed it). */
  finish(id: string): boolean {
    this.cursorOps?.delete(id);
    return this.ops.delete(id);
  }

  /**
   * The newest cursor of each idle at-least-once operation whose client does not have it yet
   * (its trigger moved past events a filter skipped), marked as sent. Empty for most sessions.
   */
  protected staleCursors(): Record<string, string> | undefined {
    if (!this.cursorOps || this.state !== "acknowledged") return undefined;
    const out: Record<string, string> = {};
    let any = false;
    for (const [id, sink] of this.cursorOps) {
      const cursor = this.ops.get(id)?.cursor?.();
      if (cursor === undefined || cursor === sink.lastCursor) continue;
      sink.lastCursor = cursor;
      out[id] = cursor;
      any = true;
    }
    return any ? out : undefined;
  }

  /** Heartbeat hook: hand idle clients their newest cursors, where the protocol can say it. */
  cursorBeat(): void {}

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
    for (const id of this.ops.ids()) this.send(this.frames.complete(id));
    this.closeWith(1001, "server shutting down");
  }

  /** The socket is gone (either side closed it): stop every operation. */
  onClosed(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.deps.timers.clearTimeout(this.initTimer);
    this.unwatchExpiry?.();
    this.unwatchExpiry = undefined;
    this.onStateClosed();
    for (const op of this.ops.values()) op.cancel();
    this.ops.clear();
    this.cursorOps = undefined;
  }

  /** Hook for subclasses' own timers. */
  protected onStateClosed(): void {}
}
