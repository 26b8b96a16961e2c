/**
 * graphql-transport-ws over one WebSocket, with resume. The message model (parse, validate,
 * stringify, close codes) is graphql-ws's own; the connection layer is ours because resume needs
 * what graphql-ws's `createClient` keeps private: a different `subscribe` payload (the newest
 * cursor) on every reconnect, the cursors of server pings, a token sent in a `ping` without
 * reconnecting, one fresh-token retry on 4401, subscriptions that outlive a server `complete`
 * sent on shutdown (close 1001), and mutations that are never re-sent after an unknown outcome.
 */
import {
  GRAPHQL_TRANSPORT_WS_PROTOCOL,
  type Message,
  type SubscribePayload,
  MessageType,
  parseMessage,
  stringifyMessage,
} from "graphql-ws/client";
import { backoffDelay } from "./backoff.js";
import { decideOnClose, isGoingAway, TERMINATED } from "./close-codes.js";
import {
  ClientErrorCode,
  type GraphQLErrorLike,
  operationError,
  retryAfterOf,
  StreamgateClientError,
  serverCode,
} from "./errors.js";
import { Heartbeat } from "./heartbeat.js";
import type { Operation } from "./operation.js";
import { answersHttp } from "./reachability.js";
import { queuedRequests, type Transport, type TransportHost } from "./transport.js";
import type { ExecutionResult, WebSocketConstructor, WebSocketLike } from "./types.js";

const OPEN = 1;
/** How long a server `complete` waits for a possible going-away close before it is final. */
const COMPLETE_GRACE_MS = 250;

export class WebSocketTransport implements Transport {
  readonly kind = "websocket" as const;
  private readonly ops = new Map<string, Operation>();
  /** Operations sent on the current socket and not over. */
  private readonly active = new Set<string>();
  private socket: WebSocketLike | undefined;
  private acked = false;
  private closed = false;
  private failures = 0;
  private everOpened = false;
  private everAcked = false;
  private authRetried = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private lazyTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly heartbeat: Heartbeat;
  private connecting = false;
  private closedWaiters: (() => void)[] = [];

  constructor(private readonly host: TransportHost) {
    this.heartbeat = new Heartbeat(host.settings.keepAlive, host.settings.pongTimeout);
  }

  private get impl(): WebSocketConstructor {
    const impl = (this.host.settings.webSocketImpl ?? (globalThis as { WebSocket?: unknown }).WebSocket) as
      | WebSocketConstructor
      | undefined;
    if (typeof impl !== "function")
      throw new StreamgateClientError(
        ClientErrorCode.BAD_REQUEST,
        "no WebSocket implementation: pass webSocketImpl (e.g. `import WebSocket from 'ws'`) on Node 20",
      );
    return impl;
  }

  start(op: Operation): void {
    if (op.kind !== "subscription") {
      const { queueLimit, queueTimeout } = this.host.settings;
      if (!this.acked && queuedRequests(this.ops.values()) >= queueLimit) {
        op.fail(
          new StreamgateClientError(ClientErrorCode.QUEUE_TIMEOUT, `${queueLimit} operations already wait`),
        );
        return;
      }
      if (!this.acked) {
        op.timer = setTimeout(() => {
          this.ops.delete(op.id);
          op.fail(
            new StreamgateClientError(
              ClientErrorCode.QUEUE_TIMEOUT,
              `no connection within ${queueTimeout} ms`,
            ),
          );
        }, queueTimeout);
      }
    }
    this.ops.set(op.id, op);
    clearTimeout(this.lazyTimer);
    if (this.acked) this.send(op);
    else this.ensureConnection();
  }

  stop(op: Operation): void {
    this.ops.delete(op.id);
    op.clearTimer();
    if (this.active.delete(op.id)) this.write({ id: op.id, type: MessageType.Complete });
    this.maybeLazyClose();
  }

  tokenRefreshed(authorization: string): void {
    if (this.acked) this.write({ type: MessageType.Ping, payload: { Authorization: authorization } });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearConnectionTimers();
    clearTimeout(this.retryTimer);
    clearTimeout(this.lazyTimer);
    for (const op of this.ops.values()) op.clearTimer();
    const socket = this.socket;
    if (!socket) return;
    const closed = new Promise<void>((resolve) => this.closedWaiters.push(resolve));
    try {
      socket.close(1000, "Normal Closure");
    } catch {
      // a socket still connecting may refuse close(); it is dropped below anyway
    }
    // Do not hang dispose() on a router that never answers the close handshake.
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
    this.abandon(socket);
  }

  /** Every operation this transport still carries, for a move to another transport. */
  takeOperations(): Operation[] {
    const ops = [...this.ops.values()];
    this.ops.clear();
    return ops;
  }

  private ensureConnection(): void {
    if (this.socket || this.connecting || this.retryTimer !== undefined || this.closed) return;
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.closed || this.ops.size === 0) return;
    this.connecting = true;
    this.host.emitter.emit("connecting", { transport: "websocket", attempt: this.failures });
    let params: Record<string, unknown>;
    let socket: WebSocketLike;
    try {
      params = await this.host.connectionParams();
      if (this.closed) return;
      socket = new this.impl(this.host.settings.url, GRAPHQL_TRANSPORT_WS_PROTOCOL);
    } catch (err) {
      this.connecting = false;
      if (err instanceof StreamgateClientError && err.code === ClientErrorCode.BAD_REQUEST) {
        this.failAll(err);
        return;
      }
      this.retry(err);
      return;
    } finally {
      this.connecting = false;
    }
    this.socket = socket;
    // A router that accepts TCP but never answers (stopped, overloaded) must not hold us forever.
    this.ackTimer = setTimeout(() => {
      if (socket === this.socket && !this.acked) this.drop(socket, TERMINATED, "connection timeout");
    }, this.host.settings.connectTimeout);
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.everOpened = true;
      this.write({ type: MessageType.ConnectionInit, payload: params });
      this.heartbeat.start(
        () => this.write({ type: MessageType.Ping }),
        () => {
          if (socket === this.socket) this.drop(socket, TERMINATED, "heartbeat timeout");
        },
      );
    };
    socket.onerror = () => {}; // the close event follows and decides
    socket.onclose = (e) => this.onClose(socket, e.code, e.reason, opened);
    socket.onmessage = (e) => this.onMessage(socket, e.data);
  }

  private onMessage(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    this.heartbeat.received();
    let msg: Message;
    try {
      msg = parseMessage(data as string);
    } catch (err) {
      this.failAll(
        new StreamgateClientError(ClientErrorCode.BAD_RESPONSE, "the router sent an invalid message", {
          cause: err,
        }),
      );
      return;
    }
    switch (msg.type) {
      case MessageType.ConnectionAck:
        this.onAck();
        return;
      case MessageType.Ping: {
        const cursors = (msg.payload as { cursors?: unknown } | undefined)?.cursors;
        if (cursors && typeof cursors === "object") {
          for (const [id, cursor] of Object.entries(cursors))
            if (typeof cursor === "string") this.ops.get(id)?.heartbeatCursor(cursor);
        }
        this.write({ type: MessageType.Pong });
        return;
      }
      case MessageType.Next: {
        if (!this.active.has(msg.id)) return;
        this.ops.get(msg.id)?.deliver(msg.payload as ExecutionResult<unknown>);
        return;
      }
      case MessageType.Error:
        if (this.active.delete(msg.id)) this.onOperationError(msg.id, msg.payload as GraphQLErrorLike[]);
        return;
      case MessageType.Complete:
        if (this.active.delete(msg.id)) this.onServerComplete(msg.id);
        return;
      default:
        return; // pong, or frames only a server receives: nothing to do
    }
  }

  private onAck(): void {
    if (this.acked) return;
    clearTimeout(this.ackTimer);
    const reconnect = this.everAcked;
    this.acked = true;
    this.everAcked = true;
    this.failures = 0;
    this.authRetried = false;
    if (reconnect) this.host.counters.reconnects++;
    this.host.emitter.emit("connected", { transport: "websocket", reconnect });
    for (const op of [...this.ops.values()])
      if (op.timer === undefined || op.kind !== "subscription") this.send(op);
  }

  /** Sends `op`'s subscribe on the acknowledged socket. */
  private send(op: Operation): void {
    if (!this.acked || op.done || this.active.has(op.id)) return;
    this.active.add(op.id);
    this.write({ id: op.id, type: MessageType.Subscribe, payload: op.begin(true) as SubscribePayload });
  }

  private onOperationError(id: string, errors: GraphQLErrorLike[]): void {
    const op = this.ops.get(id);
    if (!op) return;
    const code = serverCode(errors);
    if (
      code === "RATE_LIMITED" &&
      op.kind !== "mutation" &&
      op.rateLimitRetries < this.host.settings.retryAttempts
    ) {
      op.rateLimitRetries++;
      op.timer = setTimeout(
        () => {
          op.timer = undefined;
          this.send(op);
        },
        (retryAfterOf(errors) ?? 1) * 1000,
      );
      return;
    }
    if (code === "TOKEN_EXPIRED" && op.kind === "subscription") {
      // The router ends the subscription and closes 4403 unless a fresh token arrives first:
      // send one and subscribe again; if the socket closes anyway the reconnect resumes it.
      void this.host.authorization().then(
        (auth) => {
          if (!this.acked || op.done) return;
          if (auth) this.tokenRefreshed(auth);
          this.send(op);
        },
        () => {},
      );
      return;
    }
    this.ops.delete(id);
    op.fail(operationError(errors));
    this.maybeLazyClose();
  }

  /** A server `complete` ends a subscription unless a going-away close follows within the grace. */
  private onServerComplete(id: string): void {
    const op = this.ops.get(id);
    if (!op) return;
    if (op.kind !== "subscription") {
      this.ops.delete(id);
      op.complete();
      this.maybeLazyClose();
      return;
    }
    op.timer = setTimeout(() => {
      op.timer = undefined;
      this.ops.delete(id);
      op.complete();
      this.maybeLazyClose();
    }, COMPLETE_GRACE_MS);
  }

  private onClose(socket: WebSocketLike, code: number, reason: string, opened: boolean): void {
    for (const resolve of this.closedWaiters.splice(0)) resolve();
    if (socket !== this.socket) return;
    this.abandon(socket);
    this.host.emitter.emit("closed", { transport: "websocket", code, reason });
    for (const op of [...this.ops.values()]) {
      // A mutation that went out and got no answer may have run: never send it twice.
      if (op.kind === "mutation" && op.sent) {
        this.ops.delete(op.id);
        op.fail(
          new StreamgateClientError(
            ClientErrorCode.OUTCOME_UNKNOWN,
            "connection lost before the mutation's result",
            {
              status: code,
            },
          ),
        );
      } else if (op.kind === "subscription" && op.timer !== undefined && isGoingAway(code)) {
        op.clearTimer(); // a shutdown `complete` or a rate-limit wait: resume on the next socket
      }
    }
    if (this.closed || this.ops.size === 0) return;
    const { sseFallback, fetchImpl, url } = this.host.settings;
    const status = { status: code };
    switch (
      decideOnClose(code, {
        authRetried: this.authRetried,
        everOpened: this.everOpened || opened,
        sseFallback,
      })
    ) {
      case "fail":
        this.failAll(
          new StreamgateClientError(
            ClientErrorCode.CONNECTION_FAILED,
            `router closed: ${code} ${reason}`,
            status,
          ),
        );
        return;
      case "unauthorized":
        this.failAll(
          new StreamgateClientError(
            ClientErrorCode.AUTHENTICATION_FAILED,
            `unauthorized: ${reason || code}`,
            status,
          ),
        );
        return;
      case "fresh-token":
        this.authRetried = true;
        void this.connect(); // connect() asks token() again
        return;
      case "probe-http":
        void answersHttp(fetchImpl, url).then((reachable) => {
          if (this.closed) return;
          if (reachable) this.host.fallbackToSse();
          else this.retry(undefined);
        });
        return;
      case "retry":
        this.retry(undefined);
        return;
    }
  }

  /** Schedules the next attempt, or fails everything once the attempts are used up. */
  private retry(cause: unknown): void {
    if (this.closed || this.ops.size === 0) return;
    if (this.failures >= this.host.settings.retryAttempts) {
      this.failAll(
        new StreamgateClientError(
          ClientErrorCode.CONNECTION_FAILED,
          `could not connect to ${this.host.settings.url} (${this.failures + 1} attempts)`,
          { cause },
        ),
      );
      return;
    }
    const delayMs = backoffDelay(this.failures, this.host.settings.backoff);
    this.failures++;
    this.host.emitter.emit("reconnecting", { transport: "websocket", attempt: this.failures, delayMs });
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
  }

  /** Gives up on a socket at once (a dead TCP connection may take minutes to report its close). */
  private drop(socket: WebSocketLike, code: number, reason: string): void {
    this.onClose(socket, code, reason, true);
    try {
      const terminate = (socket as { terminate?: () => void }).terminate;
      if (terminate) terminate.call(socket);
      else socket.close(1000, reason);
    } catch {
      // already closing
    }
  }

  /** Stops listening to `socket`; the transport's state no longer refers to it. */
  private abandon(socket: WebSocketLike): void {
    socket.onmessage = null;
    socket.onopen = null;
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.acked = false;
    this.active.clear();
    this.clearConnectionTimers();
  }

  private clearConnectionTimers(): void {
    this.heartbeat.stop();
    clearTimeout(this.ackTimer);
  }

  private maybeLazyClose(): void {
    if (this.ops.size > 0 || !this.socket) return;
    clearTimeout(this.lazyTimer);
    this.lazyTimer = setTimeout(() => {
      const socket = this.socket;
      if (this.ops.size > 0 || !socket) return;
      this.abandon(socket);
      socket.close(1000, "Normal Closure");
    }, this.host.settings.lazyCloseTimeout);
  }

  private failAll(error: StreamgateClientError): void {
    // The next operation starts afresh: full retries, one more fresh-token try on 4401.
    this.failures = 0;
    this.authRetried = false;
    const ops = [...this.ops.values()];
    this.ops.clear();
    for (const op of ops) op.fail(error);
    const socket = this.socket;
    if (socket) {
      this.abandon(socket);
      if (socket.readyState === OPEN) socket.close(1000, "Normal Closure");
    }
  }

  private write(message: Message): void {
    const socket = this.socket;
    if (socket && socket.readyState === OPEN) socket.send(stringifyMessage(message));
  }
}
