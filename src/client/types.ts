/**
 * The public types of `streamgate/client`. The shape follows graphql-ws's `createClient` (subscribe
 * with a sink, iterate, dispose, on) so code written for it, and GraphiQL's fetcher, can take it.
 */
import type { DocumentTypeDecoration } from "@graphql-typed-document-node/core";
import type { DocumentNode } from "graphql";
import type { BackoffOptions } from "./backoff.js";
import type { GraphQLErrorLike, StreamgateClientError } from "./errors.js";

/** What the router may put in a result's `extensions` (contract: "Delivery guarantees"). */
export interface ResultExtensions {
  /** Opaque resume position of this event (at-least-once providers). */
  readonly cursor?: string;
  /** True on the first event after a resume that went past the broker's or buffer's retention. */
  readonly gap?: boolean;
  /** What delivery guarantee this subscription actually got. */
  readonly delivery?: { readonly guarantee: string; readonly achieved: string; readonly reason?: string };
  readonly [key: string]: unknown;
}

/** One result, typed by the document's result type. */
export interface ExecutionResult<TData = Record<string, unknown>> {
  readonly data?: TData | null;
  readonly errors?: readonly GraphQLErrorLike[];
  readonly extensions?: ResultExtensions;
}

/** A document: a string, a `DocumentNode`, a `TypedDocumentNode` or codegen's `TypedDocumentString`. */
export type Document<TData, TVariables> = string | DocumentNode | DocumentTypeDecoration<TData, TVariables>;

/** One operation to run. */
export interface Request<TData = Record<string, unknown>, TVariables = Record<string, unknown>> {
  readonly query: Document<TData, TVariables>;
  readonly variables?: TVariables;
  readonly operationName?: string | null;
  readonly extensions?: Record<string, unknown>;
}

/** Receives an operation's results, like graphql-ws's Sink. */
export interface Sink<T> {
  next(value: T): void;
  error(error: StreamgateClientError): void;
  complete(): void;
}

/** The socket the client needs; the browser's WebSocket and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}

/** A WebSocket constructor (the global one in browsers, `ws` in Node 20). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** A `fetch` (the global one by default). */
export type FetchLike = typeof fetch;

export type TransportKind = "websocket" | "sse";

/** Options of {@link createClient}. Every duration is in milliseconds. */
export interface ClientOptions {
  /** `ws(s)://…` → WebSocket; `http(s)://…` → SSE. */
  readonly url: string;
  /** Overrides the transport the URL implies. */
  readonly transport?: TransportKind;
  /** Called on every (re)connect and again before the current token's `exp`. */
  readonly token?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Sent with `connection_init` (WebSocket) besides the token. */
  readonly connectionParams?:
    | Record<string, unknown>
    | (() => Record<string, unknown> | Promise<Record<string, unknown>>);
  /** Extra HTTP headers (SSE and HTTP operations). */
  readonly headers?: Record<string, string>;
  /**
   * The WebSocket class: the global one by default (browsers), `ws`'s on Node 20. Typed loosely,
   * like graphql-ws's option, because `ws`'s overloads do not match the DOM constructor's type.
   */
  readonly webSocketImpl?: unknown;
  readonly fetchImpl?: FetchLike;
  /** Consecutive failed connection attempts before operations fail. Default 10; `Infinity` never gives up. */
  readonly retryAttempts?: number;
  /** Exponential backoff with full jitter. */
  readonly backoff?: BackoffOptions;
  /** WebSocket: a client `ping` this often when idle. Default 10 000; 0 turns the heartbeat off. */
  readonly keepAlive?: number;
  /** WebSocket: nothing received this long after a ping drops the connection. Default 5 000. */
  readonly pongTimeout?: number;
  /** A connection not acknowledged (WebSocket) or answered (SSE) within this long is dropped. Default 10 000. */
  readonly connectTimeout?: number;
  /** SSE: nothing received this long (the router's keep-alive comments included) reopens the stream. Default 45 000; 0 = off. */
  readonly idleTimeout?: number;
  /** WebSocket only: when the socket cannot open but HTTP answers, switch to SSE. Default true. */
  readonly sseFallback?: boolean;
  /** Queries and mutations waiting for a connection: at most this many. Default 100. */
  readonly queueLimit?: number;
  /** …and each waits at most this long. Default 10 000. */
  readonly queueTimeout?: number;
  /** Refresh the token this long before its `exp` (at most a quarter of its remaining life). Default 30 000. */
  readonly tokenRefreshAhead?: number;
  /** WebSocket: close the socket this long after the last operation ended. Default 0. */
  readonly lazyCloseTimeout?: number;
  /** Listeners registered at creation, so the first `connecting` is not missed. */
  readonly on?: Partial<{ [E in keyof ClientEvents]: Listener<E> }>;
}

/** The client's events and what each listener receives. */
export interface ClientEvents {
  connecting: { readonly transport: TransportKind; readonly attempt: number };
  connected: { readonly transport: TransportKind; readonly reconnect: boolean };
  reconnecting: { readonly transport: TransportKind; readonly attempt: number; readonly delayMs: number };
  closed: { readonly transport: TransportKind; readonly code: number; readonly reason: string };
  /** A resumed subscription lost events (the router said `extensions.gap`). */
  gap: { readonly operationId: string; readonly request: Request<unknown, unknown> };
  /** The client switched from WebSocket to SSE because the socket could not open. */
  fallback: { readonly from: TransportKind; readonly to: TransportKind };
}

export type Listener<E extends keyof ClientEvents> = (event: ClientEvents[E]) => void;

/** Counters since the client was created. */
export interface ClientStats {
  readonly transport: TransportKind;
  /** `next` results handed to sinks. */
  readonly eventsReceived: number;
  /** Connections (or SSE streams) re-opened after a loss. */
  readonly reconnects: number;
  /** Subscriptions re-started from a cursor. */
  readonly resumes: number;
  /** Resumes the router reported as lossy (`extensions.gap`). */
  readonly gaps: number;
  /** Results dropped because they repeated the cursor the subscription resumed from. */
  readonly duplicatesDropped: number;
  /** Operations running or waiting. */
  readonly activeOperations: number;
}

/** The client. */
export interface Client {
  /** Runs `request`; returns a function that stops it. */
  subscribe<TData = Record<string, unknown>, TVariables = Record<string, unknown>>(
    request: Request<TData, TVariables>,
    sink: Sink<ExecutionResult<TData>>,
  ): () => void;
  /** Runs `request` as an async iterator; its `return()` stops it. */
  iterate<TData = Record<string, unknown>, TVariables = Record<string, unknown>>(
    request: Request<TData, TVariables>,
  ): AsyncIterableIterator<ExecutionResult<TData>>;
  /** Runs a query or mutation to its single result. */
  request<TData = Record<string, unknown>, TVariables = Record<string, unknown>>(
    request: Request<TData, TVariables>,
  ): Promise<ExecutionResult<TData>>;
  /** Listens to an event; returns a function that stops listening. */
  on<E extends keyof ClientEvents>(event: E, listener: Listener<E>): () => void;
  stats(): ClientStats;
  /** Stops every operation (their sinks complete) and closes the connection. */
  dispose(): Promise<void>;
}
