/**
 * `createClient`: the operations, the token, the events and the counters. The transports only
 * carry operations; this module decides which transport, and moves the operations when the
 * WebSocket falls back to SSE.
 */
import { documentText, operationKind, wirePayload } from "./document.js";
import { Emitter } from "./emitter.js";
import { ClientErrorCode, StreamgateClientError } from "./errors.js";
import { iterate } from "./iterate.js";
import { type Counters, Operation, type OperationOwner } from "./operation.js";
import { SseTransport } from "./sse.js";
import { authorization, refreshDelay, tokenExpiry } from "./token.js";
import type { Settings, Transport, TransportHost } from "./transport.js";
import type {
  Client,
  ClientEvents,
  ClientOptions,
  ClientStats,
  ExecutionResult,
  Listener,
  Request,
  Sink,
  TransportKind,
} from "./types.js";
import { WebSocketTransport } from "./ws.js";

function settingsOf(options: ClientOptions): Settings {
  if (typeof options?.url !== "string" || !/^(wss?|https?):\/\//i.test(options.url)) {
    throw new StreamgateClientError(
      ClientErrorCode.BAD_REQUEST,
      "url must be a ws://, wss://, http:// or https:// URL",
    );
  }
  const fetchImpl = options.fetchImpl ?? globalThis.fetch?.bind(globalThis);
  return {
    url: options.url,
    headers: options.headers ?? {},
    webSocketImpl: options.webSocketImpl,
    fetchImpl,
    retryAttempts: options.retryAttempts ?? 10,
    backoff: options.backoff ?? {},
    keepAlive: options.keepAlive ?? 10_000,
    pongTimeout: options.pongTimeout ?? 5_000,
    idleTimeout: options.idleTimeout ?? 45_000,
    connectTimeout: options.connectTimeout ?? 10_000,
    sseFallback: options.sseFallback ?? true,
    queueLimit: options.queueLimit ?? 100,
    queueTimeout: options.queueTimeout ?? 10_000,
    lazyCloseTimeout: options.lazyCloseTimeout ?? 0,
  };
}

/** Creates a client. Nothing connects until the first operation starts. */
export function createClient(options: ClientOptions): Client {
  const settings = settingsOf(options);
  const emitter = new Emitter();
  for (const [event, listener] of Object.entries(options.on ?? {}))
    if (listener) emitter.on(event as keyof ClientEvents, listener as Listener<keyof ClientEvents>);
  const counters: Counters = { eventsReceived: 0, reconnects: 0, resumes: 0, gaps: 0, duplicatesDropped: 0 };
  const ops = new Map<string, Operation>();
  let nextId = 1;
  let disposed = false;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let tokenGeneration = 0;

  /** Calls `token()` and (re)arms the refresh timer from its `exp`. */
  async function freshAuthorization(): Promise<string | undefined> {
    if (!options.token) return undefined;
    const generation = ++tokenGeneration;
    const token = await options.token();
    if (!token) return undefined;
    const value = authorization(token);
    if (generation === tokenGeneration) {
      clearTimeout(refreshTimer);
      const delay = refreshDelay(tokenExpiry(token), Date.now(), options.tokenRefreshAhead ?? 30_000);
      refreshTimer =
        delay === undefined || disposed
          ? undefined
          : setTimeout(() => {
              refreshTimer = undefined;
              if (ops.size === 0 || disposed) return;
              freshAuthorization().then(
                (auth) => auth && transport.tokenRefreshed(auth),
                () => {}, // the router's TOKEN_EXPIRED will make us reconnect with token() again
              );
            }, delay);
    }
    return value;
  }

  const host: TransportHost = {
    settings,
    emitter,
    counters,
    async connectionParams() {
      const base =
        typeof options.connectionParams === "function"
          ? await options.connectionParams()
          : (options.connectionParams ?? {});
      const auth = await freshAuthorization();
      return auth ? { ...base, Authorization: auth } : { ...base };
    },
    authorization: freshAuthorization,
    fallbackToSse() {
      if (!(transport instanceof WebSocketTransport)) return;
      const moving = transport.takeOperations();
      void transport.close();
      transport = new SseTransport(host);
      emitter.emit("fallback", { from: "websocket", to: "sse" });
      for (const op of moving) if (!op.done) transport.start(op);
    },
  };

  const wanted: TransportKind = options.transport ?? (/^wss?:/i.test(settings.url) ? "websocket" : "sse");
  let transport: Transport = wanted === "websocket" ? new WebSocketTransport(host) : new SseTransport(host);

  const owner: OperationOwner = {
    counters,
    finished(op) {
      ops.delete(op.id);
      if (ops.size === 0) {
        clearTimeout(refreshTimer);
        refreshTimer = undefined;
      }
    },
    gap(op) {
      counters.gaps++;
      emitter.emit("gap", { operationId: op.id, request: op.request });
    },
  };

  function subscribe<TData, TVariables>(
    request: Request<TData, TVariables>,
    sink: Sink<ExecutionResult<TData>>,
  ): () => void {
    const untyped = sink as Sink<ExecutionResult<unknown>>;
    if (disposed) {
      untyped.error(new StreamgateClientError(ClientErrorCode.DISPOSED, "the client was disposed"));
      return () => {};
    }
    let op: Operation;
    try {
      const req = request as Request<unknown, unknown>;
      const text = documentText(req.query);
      op = new Operation(
        String(nextId++),
        operationKind(req, text),
        req,
        wirePayload(req, text),
        untyped,
        owner,
      );
    } catch (err) {
      untyped.error(
        err instanceof StreamgateClientError
          ? err
          : new StreamgateClientError(ClientErrorCode.BAD_REQUEST, "invalid request", { cause: err }),
      );
      return () => {};
    }
    ops.set(op.id, op);
    transport.start(op);
    return () => {
      if (op.done) return;
      transport.stop(op);
      op.complete();
    };
  }

  return {
    subscribe,
    iterate: (request) => iterate(subscribe, request),
    request: (request) =>
      new Promise((resolve, reject) => {
        let last: ExecutionResult<never> | undefined;
        subscribe(request, {
          next: (value) => {
            last = value as ExecutionResult<never>;
          },
          error: reject,
          complete: () =>
            last
              ? resolve(last)
              : reject(
                  new StreamgateClientError(
                    ClientErrorCode.BAD_RESPONSE,
                    "the operation ended without a result",
                  ),
                ),
        });
      }),
    on: (event, listener) => emitter.on(event, listener),
    stats(): ClientStats {
      return { transport: transport.kind, ...counters, activeOperations: ops.size };
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      clearTimeout(refreshTimer);
      for (const op of [...ops.values()]) op.complete();
      await transport.close();
    },
  };
}
