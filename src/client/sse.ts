/**
 * Subscriptions over SSE in graphql-sse's "distinct connections" mode: one streaming POST per
 * subscription. Not graphql-sse's client: it drops each event's `id:`, so it cannot send
 * `Last-Event-ID`, and it re-issues the original request after a drop, which restarts a stream
 * instead of resuming it. Framing is parsed by `eventsource-parser` (the WHATWG algorithm,
 * `id:`-only heartbeat blocks and comments included); the reconnect loop is ours.
 */
import { createParser } from "eventsource-parser";
import { backoffDelay } from "./backoff.js";
import {
  asClientError,
  ClientErrorCode,
  type GraphQLErrorLike,
  operationError,
  StreamgateClientError,
  serverCode,
} from "./errors.js";
import { runHttpOperation } from "./http.js";
import type { Operation } from "./operation.js";
import { httpUrlOf } from "./reachability.js";
import type { Transport, TransportHost } from "./transport.js";
import type { ExecutionResult } from "./types.js";

/** Seconds of a Retry-After header (a number of seconds; HTTP dates are not worth the bytes). */
function retryAfterHeader(value: string | null): number | undefined {
  const n = value === null ? Number.NaN : Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** One subscription's stream, re-opened with `Last-Event-ID` until the subscription is over. */
class SseStream {
  private abort: AbortController | undefined;
  private failures = 0;
  private authRetried = false;
  private everConnected = false;
  private serverRetry = 0;
  private lastReceived = 0;
  private idleTimer: ReturnType<typeof setInterval> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly op: Operation,
    private readonly host: TransportHost,
    private readonly onOver: () => void,
  ) {}

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.idleTimer);
    this.abort?.abort();
  }

  /** Re-opens at once from the last id (a fresh token, a silent stream). */
  restart(): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const current = this.abort;
    this.abort = undefined; // so its abort does not schedule a retry of its own
    current?.abort();
    void this.open();
  }

  async open(): Promise<void> {
    if (this.stopped || this.op.done) return;
    const abort = new AbortController();
    this.abort = abort;
    const { settings, emitter } = this.host;
    emitter.emit("connecting", { transport: "sse", attempt: this.failures });
    let res: Response;
    try {
      const auth = await this.host.authorization();
      if (abort.signal.aborted) return;
      const headers: Record<string, string> = {
        ...settings.headers,
        accept: "text/event-stream",
        "content-type": "application/json",
      };
      if (auth) headers.authorization = auth;
      const body = JSON.stringify(this.op.begin(false));
      if (this.op.cursor !== undefined) headers["last-event-id"] = this.op.cursor;
      res = await settings.fetchImpl(httpUrlOf(settings.url), {
        method: "POST",
        headers,
        body,
        signal: abort.signal,
      });
    } catch (err) {
      // Aborted by stop()/restart(): they decide; aborted by the connect timeout: retry.
      if (this.abort === abort && !this.stopped) this.retry(err);
      return;
    }
    if (!(await this.accept(res))) return;
    abort.signal.addEventListener("abort", () => {
      // Aborted by the idle watch or a parse error (not by stop/restart): try again.
      if (!this.stopped && !this.op.done && this.abort === abort) this.retry(undefined);
    });
    if (this.everConnected) this.host.counters.reconnects++;
    emitter.emit("connected", { transport: "sse", reconnect: this.everConnected });
    this.everConnected = true;
    this.failures = 0;
    this.authRetried = false;
    const ended = await this.read(res, abort);
    if (abort.signal.aborted || this.stopped || this.op.done) return;
    emitter.emit("closed", { transport: "sse", code: 1006, reason: ended });
    this.retry(undefined);
  }

  /** Handles a response that is not a stream; true when it is one. */
  private async accept(res: Response): Promise<boolean> {
    const type = res.headers.get("content-type") ?? "";
    if (res.ok && type.includes("text/event-stream")) return true;
    const text = await res.text().catch(() => "");
    if (res.status === 401) {
      if (!this.authRetried) {
        this.authRetried = true;
        void this.open();
      } else
        this.fail(
          new StreamgateClientError(ClientErrorCode.AUTHENTICATION_FAILED, "unauthorized", { status: 401 }),
        );
      return false;
    }
    if (res.status === 429) {
      const retryAfter = retryAfterHeader(res.headers.get("retry-after"));
      this.rateLimited(retryAfter, res.status);
      return false;
    }
    let errors: GraphQLErrorLike[] | undefined;
    try {
      errors = (JSON.parse(text) as { errors?: GraphQLErrorLike[] }).errors;
    } catch {
      errors = undefined;
    }
    if (res.status >= 500 || res.status === 408 || (res.ok && !errors)) {
      this.retry(
        new StreamgateClientError(ClientErrorCode.BAD_RESPONSE, `HTTP ${res.status}`, { status: res.status }),
      );
      return false;
    }
    const error = operationError(errors ?? [{ message: `HTTP ${res.status}` }], res.status);
    if (error.code === ClientErrorCode.RATE_LIMITED) this.rateLimited(error.retryAfter, res.status);
    else this.fail(error);
    return false;
  }

  /** Reads the stream until it ends; returns why it ended. */
  private async read(res: Response, abort: AbortController): Promise<string> {
    let tokenExpired = false;
    let pendingId: string | undefined;
    const parser = createParser({
      maxBufferSize: 16 * 1024 * 1024,
      onId: (id) => {
        pendingId = id;
      },
      onRetry: (ms) => {
        this.serverRetry = ms;
      },
      onEvent: (event) => {
        const id = pendingId;
        pendingId = undefined;
        if (event.event === "complete") {
          if (tokenExpired) this.restart();
          else this.finish();
          return;
        }
        if (event.event !== "next") return;
        let payload: ExecutionResult<unknown>;
        try {
          payload = JSON.parse(event.data);
        } catch (err) {
          this.fail(asClientError(err, ClientErrorCode.BAD_RESPONSE, "the router sent an invalid event"));
          abort.abort();
          return;
        }
        if (!payload.data && serverCode(payload.errors) === "TOKEN_EXPIRED") {
          tokenExpired = true; // reconnect with a fresh token from the last id: nothing is lost
          return;
        }
        this.op.deliver(payload, id);
      },
      onError: () => {
        abort.abort();
      },
    });
    const reader = res.body?.getReader();
    if (!reader) return "no body";
    const decoder = new TextDecoder();
    this.watchIdle(abort);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "stream ended";
        this.lastReceived = Date.now();
        parser.feed(decoder.decode(value, { stream: true }));
        // An id-only block (heartbeat) is the newest position of an idle subscription.
        if (pendingId !== undefined) {
          this.op.heartbeatCursor(pendingId);
          pendingId = undefined;
        }
      }
    } catch (err) {
      return err instanceof Error ? err.message : "stream failed";
    } finally {
      clearInterval(this.idleTimer);
      reader.releaseLock();
    }
  }

  /** A stream that stays silent past `idleTimeout` (keep-alive comments included) is re-opened. */
  private watchIdle(abort: AbortController): void {
    const timeout = this.host.settings.idleTimeout;
    if (!(timeout > 0)) return;
    this.lastReceived = Date.now();
    clearInterval(this.idleTimer);
    this.idleTimer = setInterval(
      () => {
        if (Date.now() - this.lastReceived >= timeout) abort.abort();
      },
      Math.max(10, timeout / 4),
    );
  }

  private rateLimited(retryAfter: number | undefined, status: number): void {
    if (this.op.rateLimitRetries >= this.host.settings.retryAttempts) {
      this.fail(
        new StreamgateClientError(ClientErrorCode.RATE_LIMITED, "rate limited", {
          status,
          ...(retryAfter === undefined ? {} : { retryAfter }),
        }),
      );
      return;
    }
    this.op.rateLimitRetries++;
    this.retryTimer = setTimeout(() => void this.open(), (retryAfter ?? 1) * 1000);
  }

  private retry(cause: unknown): void {
    if (this.stopped || this.op.done || this.retryTimer !== undefined) return;
    if (this.failures >= this.host.settings.retryAttempts) {
      this.fail(
        asClientError(cause, ClientErrorCode.CONNECTION_FAILED, `could not reach ${this.host.settings.url}`),
      );
      return;
    }
    // The router's `retry:` is a floor; our backoff spreads the clients above it.
    const delayMs = Math.max(this.serverRetry, backoffDelay(this.failures, this.host.settings.backoff));
    this.failures++;
    this.host.emitter.emit("reconnecting", { transport: "sse", attempt: this.failures, delayMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.open();
    }, delayMs);
  }

  private fail(error: StreamgateClientError): void {
    this.stop();
    this.op.fail(error);
    this.onOver();
  }

  private finish(): void {
    this.stop();
    this.op.complete();
    this.onOver();
  }
}

export class SseTransport implements Transport {
  readonly kind = "sse" as const;
  private readonly streams = new Map<string, SseStream>();
  private readonly requests = new Map<string, AbortController>();

  constructor(private readonly host: TransportHost) {}

  start(op: Operation): void {
    if (op.kind !== "subscription") {
      const abort = new AbortController();
      this.requests.set(op.id, abort);
      void runHttpOperation(op, this.host, abort.signal, this.requests.size).finally(() =>
        this.requests.delete(op.id),
      );
      return;
    }
    const stream = new SseStream(op, this.host, () => this.streams.delete(op.id));
    this.streams.set(op.id, stream);
    void stream.open();
  }

  stop(op: Operation): void {
    this.streams.get(op.id)?.stop();
    this.streams.delete(op.id);
    this.requests.get(op.id)?.abort();
    this.requests.delete(op.id);
  }

  tokenRefreshed(): void {
    // An HTTP stream cannot take a new header: re-open each one from its last id.
    for (const stream of this.streams.values()) stream.restart();
  }

  async close(): Promise<void> {
    for (const stream of this.streams.values()) stream.stop();
    for (const abort of this.requests.values()) abort.abort();
    this.streams.clear();
    this.requests.clear();
  }
}
