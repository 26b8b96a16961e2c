/**
 * The WebSocket behaviour on `graphql_path`: subprotocol negotiation at upgrade, one session per
 * socket, and the per-socket backpressure policy. Backpressure state is per socket (uWS keeps a
 * buffer per socket); nothing waits on a shared drain.
 */
import type { Config } from "../config/types.js";
import { anonymous, type RequestContext } from "../engine/types.js";
import type { Logger } from "../observability/logger.js";
import { CloseCode } from "../protocol/graphql-transport-ws.js";
import { offersSubprotocols, selectSubprotocol } from "../protocol/subprotocol.js";
import { realTimers, type SessionDeps, type SessionEngine, type SessionSocket } from "../session/socket.js";
import type { Security } from "../security/security.js";
import { authenticate } from "./authenticate.js";
import type { BaseSession } from "../session/base.js";
import { LegacyWsSession } from "../session/legacy-ws.js";
import { TransportWsSession } from "../session/transport-ws.js";
import type { TemplatedApp, WebSocket } from "./uws.js";
import type { LimitName } from "../security/limits.js";
import { type Admission, admitConnection, clientKey, headWithinLimits } from "./admission.js";
import { originAllowed } from "./cors.js";
import { traceContextOf } from "../telemetry/tracing.js";
import type { HeaderCapture } from "./headers.js";
import { Reply } from "./reply.js";
import { SendBudget, SlowClientPolicy } from "./send-budget.js";

/**
 * Per-socket user data. uWS copies its properties onto each WebSocket object (an out-of-object
 * property array per socket: ~100 B with the seven fields this had), so it is one reference to
 * the socket's own state.
 */
interface SocketData {
  readonly socket: UwsSocket;
}

/** What a socket needs until it opens: who connected, its subprotocol, a refused token. */
interface Opening {
  /** Who connected (address, identity from the upgrade header); handed to the session on open. */
  readonly ctx: RequestContext;
  readonly legacy: boolean;
  /** Why the upgrade's token was refused: the socket closes 4401 at once with this reason. */
  readonly refused: string | undefined;
}

/** What every socket shares (one reference per socket rather than three). */
interface Outbox {
  readonly queue: FlushQueue;
  readonly budget: SendBudget;
  readonly policy: SlowClientPolicy;
}

export interface WsStats {
  connections: number;
  dropped: number;
  slowClosed: number;
  /**
   * Connections that ended without a close frame (uWS reports 1006): the peer vanished, the TCP
   * connection was reset, or no pong came within the idle timeout (2 × heartbeat_interval).
   */
  lost: number;
  /** Bytes held in user-space send buffers over all sockets (last observed). */
  readonly bufferedBytes: number;
}

/**
 * Sockets with frames waiting for this loop iteration's flush. Sending each frame at once costs one
 * send(2) per frame, which is most of a broadcast's CPU (profiles/README.md); queued, every frame a
 * socket got in one iteration (a burst of events, several subscriptions) leaves in one corked write.
 */
const FLUSH_BLOCK_BYTES = 64 * 1024;

/** The code uWS reports for a connection that ended without a close frame (RFC 6455 7.4.1). */
const ABNORMAL_CLOSURE = 1006;

class FlushQueue {
  private dirty: UwsSocket[] = [];
  private scheduled = false;

  add(socket: UwsSocket): void {
    this.dirty.push(socket);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const sockets = this.dirty;
    this.dirty = [];
    for (const s of sockets) s.flush();
  };
}

class UwsSocket implements SessionSocket {
  /** Set when uWS opens the socket; no frame is sent before. */
  private ws!: WebSocket<SocketData>;
  session: BaseSession | undefined;
  closed = false;
  /**
   * Frames since the last flush, kept as the strings they are made of: the first as
   * (head, body, tail), a whole frame as (frame, "", ""); from the second on, all of them as flat
   * triples in `more`. A broadcast delivery thus stores three references to strings that already
   * exist (the subscription's cached prefix, the group's payload) and the frame is concatenated
   * only at the write, so it dies young instead of waiting for the flush and being promoted.
   */
  private head: string | undefined;
  private body = "";
  private tail = "";
  private more: string[] | undefined;
  /**
   * uWS's buffered amount as last observed: after each write and on each drain (uWS calls drain
   * while a backlog shrinks, down to 0), so it is current without a native call before writing.
   */
  private held = 0;
  /** Until open. */
  private opening: Opening | undefined;

  constructor(
    private readonly out: Outbox,
    /** The connection limiter's ticket, given back on close. */
    readonly ticket: number,
    opening: Opening,
  ) {
    this.opening = opening;
  }

  /**
   * uWS opened the socket: its session starts, joins `sessions`, and closes at once when the
   * token was refused (after joining: the close handler may run inside the close and leaves it).
   */
  open(ws: WebSocket<SocketData>, deps: SessionDeps, sessions: Set<BaseSession>): void {
    const { ctx, legacy, refused } = this.opening!;
    this.opening = undefined;
    this.ws = ws;
    const session = legacy ? new LegacyWsSession(this, deps, ctx) : new TransportWsSession(this, deps, ctx);
    this.session = session;
    sessions.add(session);
    if (refused !== undefined) session.closeWith(CloseCode.Unauthorized, refused);
  }

  send(frame: string): void {
    this.sendSpliced(frame, "", "");
  }

  sendSpliced(prefix: string, body: string, suffix: string): void {
    if (this.closed) return;
    if (this.head === undefined) {
      this.head = prefix;
      this.body = body;
      this.tail = suffix;
      this.out.queue.add(this);
    } else if (this.more === undefined) this.more = [this.head, this.body, this.tail, prefix, body, suffix];
    else this.more.push(prefix, body, suffix);
  }

  /**
   * Writes what is pending in corked blocks of up to 64 KB. Before each block the socket's
   * holding is checked against its own limit and the global budget (the kernel takes what it can
   * at each uncork, so only what it refused counts); frames past the line get the slow-client
   * policy. One native buffered-amount read per block, not per frame.
   */
  flush(): void {
    const head = this.head;
    const more = this.more;
    const body = this.body;
    const tail = this.tail;
    this.head = undefined;
    this.more = undefined;
    this.body = "";
    this.tail = "";
    if (head === undefined || this.closed) return;
    const budget = this.out.budget;
    if (more === undefined) {
      if (budget.exceeded(this.held)) {
        this.overLimit(1);
        return;
      }
      this.ws.send(head + body + tail, false);
      this.observe();
      return;
    }
    let i = 0;
    const block = (): void => {
      let bytes = 0;
      while (i < more.length && bytes < FLUSH_BLOCK_BYTES) {
        const frame = more[i]! + more[i + 1]! + more[i + 2]!;
        i += 3;
        this.ws.send(frame, false);
        bytes += frame.length;
      }
    };
    while (i < more.length) {
      if (budget.exceeded(this.held)) {
        this.overLimit((more.length - i) / 3);
        return;
      }
      this.ws.cork(block);
      this.observe();
    }
  }

  /** Reads uWS's buffered amount into the budget (after a write, on drain). */
  observe(): void {
    if (!this.closed) this.held = this.out.budget.track(this.held, this.ws.getBufferedAmount());
  }

  /** The socket is gone: it holds nothing any more. */
  released(): void {
    this.held = this.out.budget.track(this.held, 0);
  }

  private overLimit(frames: number): void {
    this.out.policy.refuse(frames, () =>
      this.session?.closeWith(CloseCode.SlowConsumer, "client too slow: send buffer full"),
    );
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    // Frames queued before the close (a final `complete`) go first.
    this.flush();
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason);
  }
}

export interface WebSocketHandle {
  readonly stats: WsStats;
  /** Shared with HTTP streams: one slow-client policy and one set of counts. */
  readonly policy: SlowClientPolicy;
  /** Shared with HTTP streams: one bound over every socket's user-space send buffer. */
  readonly budget: SendBudget;
  /** Every open session (for shutdown). */
  readonly sessions: Set<BaseSession>;
  /** Stops the handle's own timers (shutdown). */
  close(): void;
}

export interface WebSocketOptions {
  readonly config: Config;
  readonly engine: SessionEngine;
  readonly logger: Logger;
  readonly security: Security;
  readonly admission: Admission;
  /** Set when stream hooks need request headers: copies them at upgrade. */
  readonly captureHeaders?: HeaderCapture;
  /** Keep the client's W3C trace context (tracing on). */
  readonly captureTrace?: boolean;
  /** Keep each connection's connection_init payload (stream hooks read it). */
  readonly keepConnectionParams?: boolean;
}

export function mountWebSocket(app: TemplatedApp, o: WebSocketOptions): WebSocketHandle {
  const { config, logger, security, admission } = o;
  const { counter } = admission;
  const budget = new SendBudget(config.limits.max_backpressure, config.limits.max_total_backpressure);
  const stats: WsStats = {
    connections: 0,
    dropped: 0,
    slowClosed: 0,
    lost: 0,
    get bufferedBytes() {
      return budget.bytes;
    },
  };
  const policy = new SlowClientPolicy(config.limits.slow_client_policy, stats);
  const out: Outbox = { queue: new FlushQueue(), budget, policy };
  const sessions = new Set<BaseSession>();
  const deps: SessionDeps = {
    engine: o.engine,
    limits: {
      connectionInitTimeoutMs: config.limits.connection_init_timeout,
      maxSubscriptions: config.limits.max_subscriptions_per_connection,
      refused: (limit: LimitName) => counter.refused(limit),
    },
    timers: realTimers,
    keepAliveMs: config.heartbeat_interval,
    ...(security.enabled ? { security } : {}),
    ...(o.keepConnectionParams ? { keepConnectionParams: true } : {}),
  };
  app.ws<SocketData>(config.graphql_path, {
    // uWS drops the TCP connection (1006) on a frame above maxPayloadLength, so the client never
    // learns why. We accept up to 4x the limit and close such frames ourselves with 1009; only
    // frames beyond that are cut at the socket.
    maxPayloadLength: config.limits.max_message_size * 4,
    // uWS would silently drop past this; we apply our own policy first, so give it headroom.
    maxBackpressure: config.limits.max_backpressure * 2,
    idleTimeout: Math.max(8, Math.ceil((config.heartbeat_interval * 2) / 1000)),
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const reply = new Reply(res);
      if (!headWithinLimits(req, reply, counter)) return;
      const header = req.getHeader("sec-websocket-protocol");
      const protocol = selectSubprotocol(header);
      const origin = req.getHeader("origin");
      if (!originAllowed(config.cors.allow_origins, origin)) {
        reply.send("403 Forbidden", [], "origin not allowed");
        return;
      }
      if (protocol === null) {
        reply.send("400 Bad Request", [], "unsupported WebSocket subprotocol");
        return;
      }
      const key = req.getHeader("sec-websocket-key");
      const extensions = req.getHeader("sec-websocket-extensions");
      const ctx = anonymous(reply.remoteAddress());
      if (o.captureHeaders) ctx.headers = o.captureHeaders(req);
      if (o.captureTrace) {
        const trace = traceContextOf((h) => req.getHeader(h) || undefined);
        if (trace) ctx.trace = trace;
      }
      // Counted before the token is checked (which may wait for a JWKS fetch): a client that
      // leaves meanwhile gives its slot back; an upgraded socket gives it back on close.
      const ticket = admitConnection(reply, clientKey(res), admission);
      if (ticket === undefined) return;
      reply.onAbort = () => admission.limiter.release(ticket);
      const upgrade = (refused: string | undefined): void => {
        if (reply.finished) return;
        reply.cork(() => {
          reply.handedOver();
          res.upgrade<SocketData>(
            { socket: new UwsSocket(out, ticket, { ctx, legacy: protocol === "graphql-ws", refused }) },
            key,
            offersSubprotocols(header) ? protocol : "",
            extensions,
            context,
          );
        });
      };
      // A refused token still upgrades: the client learns why from close 4401, which graphql-ws
      // clients report, rather than from a failed handshake they cannot read.
      authenticate(security, req.getHeader(security.headerName), ctx, upgrade);
    },
    open: (ws) => {
      // Counted before the session may close itself (a refused token): close uncounts it.
      stats.connections++;
      ws.getUserData().socket.open(ws, deps, sessions);
    },
    message: (ws, message) => {
      if (message.byteLength > config.limits.max_message_size) {
        counter.refused("max_message_size");
        ws.getUserData().socket.session?.closeWith(
          1009,
          `message larger than ${config.limits.max_message_size} bytes`,
        );
        return;
      }
      try {
        ws.getUserData().socket.session?.onMessage(message);
      } catch (err) {
        // Sessions never throw on client input; this is a bug, contained to this socket.
        logger.error({ err: (err as Error).message }, "session error");
        ws.getUserData().socket.session?.closeWith(CloseCode.InternalServerError, "internal error");
      }
    },
    drain: (ws) => ws.getUserData().socket.observe(),
    close: (ws, code) => {
      if (code === ABNORMAL_CLOSURE) stats.lost++;
      const socket = ws.getUserData().socket;
      admission.limiter.release(socket.ticket);
      socket.closed = true;
      socket.released();
      const session = socket.session;
      if (session) {
        session.onClosed();
        sessions.delete(session);
        socket.session = undefined;
        stats.connections--;
      }
    },
  });
  // One timer for every socket: idle at-least-once clients get their newest cursors.
  const beat = setInterval(() => {
    for (const s of sessions) s.cursorBeat();
  }, config.heartbeat_interval);
  beat.unref();
  return { stats, sessions, budget, policy, close: () => clearInterval(beat) };
}
