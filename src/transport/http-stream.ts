/**
 * Streaming HTTP subscriptions: SSE and multipart share one lifecycle (flush the head at once,
 * heartbeats, one frame per result, a final frame) and differ only in framing.
 */
import type { Engine } from "../engine/engine.js";
import type { OperationRequest, RequestContext, RunningOperation } from "../engine/types.js";
import { clientError, ErrorCode } from "../errors.js";
import type { Security } from "../security/security.js";
import type { PlanError } from "../planner/plan.js";
import * as multipart from "../protocol/multipart.js";
import { sseComment, sseEvent, sseIdOnly, sseRetry } from "../protocol/sse.js";
import type { Reply } from "./reply.js";
import type { SendBudget, SlowClientPolicy } from "./send-budget.js";

/**
 * The slow-client bound of streams, shared with WebSockets. uWS exposes no buffered amount for an
 * HTTP response, but `write()` returns false once the socket holds a user-space backlog (after
 * the kernel's buffers filled): the bytes written while it returns false are the backlog, and a
 * write that returns true means it drained. Heartbeats always try to write, so a stream whose
 * events were dropped learns when its client caught up.
 */
export interface StreamSendLimits {
  readonly budget: SendBudget;
  readonly policy: SlowClientPolicy;
}

/** How one streaming transport frames its output. */
export interface Framing {
  readonly contentType: string;
  /** Written with the head so proxies and clients see the stream start at once. */
  readonly opening: string;
  /** One result; `cursor` (at-least-once) where the framing can carry it (SSE `id:`). */
  result(json: string, cursor?: string): string;
  heartbeat(): string;
  /** A keep-alive that also hands an idle client its newest cursor, when the framing has a place for it. */
  cursorBeat?(cursor: string): string;
  /** An error after the stream started (the operation is over). */
  error(errors: readonly PlanError[]): string;
  end(): string;
}

/** How long EventSource waits before it reconnects (and resumes with Last-Event-ID). */
const SSE_RETRY_MS = 1000;

export const SSE_FRAMING: Framing = {
  contentType: "text/event-stream; charset=utf-8",
  opening: sseRetry(SSE_RETRY_MS),
  result: (json, cursor) => sseEvent("next", json, cursor),
  heartbeat: () => sseComment(""),
  cursorBeat: (cursor) => sseIdOnly(cursor),
  error: (errors) => sseEvent("next", JSON.stringify({ errors })),
  end: () => sseEvent("complete"),
};

export function multipartFraming(mode: multipart.MultipartMode): Framing {
  return {
    contentType: multipart.contentType(mode),
    // Some bytes must go with the head or uWS holds it back; a CRLF preamble is ignored by parsers.
    opening: mode === "subscription-spec" ? multipart.heartbeatPart(mode) : "\r\n",
    result: (json) => multipart.resultPart(mode, json),
    heartbeat: () => multipart.heartbeatPart(mode),
    error: (errors) => multipart.errorPart(mode, errors),
    end: () => multipart.endParts(mode),
  };
}

/** Open streams, so shutdown can end each one properly. */
export type StreamRegistry = Set<{
  end(): void;
  /** Shutdown: at-least-once streams end without the final frame, so the client resumes elsewhere. */
  goAway(): void;
}>;

export interface StreamOptions {
  readonly reply: Reply;
  readonly request: OperationRequest;
  readonly ctx: RequestContext;
  /** Token expiry: the stream ends with TOKEN_EXPIRED when the caller's token passes its exp. */
  readonly security: Pick<Security, "watchExpiry">;
  readonly framing: Framing;
  readonly engine: Pick<Engine, "execute">;
  readonly heartbeatMs: number;
  readonly streams: StreamRegistry;
  /** Errors before anything was written: the caller answers them as a plain HTTP error. */
  readonly early: (errors: readonly PlanError[]) => void;
  readonly limits: StreamSendLimits;
  /** Called once when the stream is over, however it ended (early errors included). */
  readonly onEnd?: () => void;
}

/**
 * Runs `request` as a stream. Errors before anything was written become a 400 JSON response
 * (`early`), so a client sees a normal HTTP error for an invalid operation.
 */
export function runStream(o: StreamOptions): void {
  const { reply, framing, limits } = o;
  let started = false;
  let finished = false;
  let running: RunningOperation | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  /** Bytes written since uWS last accepted a write without backlog (0 = keeping up). */
  let held = 0;
  const handle = {
    end: () => end(),
    goAway: () => {
      // An at-least-once subscription is not over: a client that saw `complete` would stop, one
      // whose stream just ends reconnects with Last-Event-ID to another instance.
      if (running?.cursor) dropWithoutEnd();
      else end();
    },
  };
  let over = false;
  const ended = (): void => {
    if (over) return;
    over = true;
    o.onEnd?.();
  };
  const put = (chunk: string): void => {
    let ok = false;
    reply.cork(() => {
      ok = reply.write(chunk);
    });
    held = limits.budget.track(held, ok ? 0 : held + chunk.length);
  };
  /** Results and final frames: subject to the slow-client policy. */
  const write = (chunk: string): void => {
    if (chunk === "" || reply.finished || finished) return;
    if (!limits.budget.exceeded(held)) {
      put(chunk);
      return;
    }
    limits.policy.refuse(1, abortSlow);
  };
  /** Heartbeats always go out: the probe that tells a dropping stream its client caught up. */
  const probe = (chunk: string): void => {
    if (!reply.finished && !finished) put(chunk);
  };
  /** A client too far behind to read a final frame: the connection is closed. */
  const abortSlow = (): void => {
    finished = true;
    release();
    reply.close();
  };
  /** The stream is over, however it ended: no heartbeats, no operation, nothing held. */
  let unwatch: (() => void) | undefined;
  /** The newest cursor this client has been sent (at-least-once). */
  let lastCursor: string | undefined;
  const release = (): void => {
    clearInterval(heartbeat);
    unwatch?.();
    o.streams.delete(handle);
    running?.cancel();
    held = limits.budget.track(held, 0);
    ended();
  };
  const dropWithoutEnd = (): void => {
    if (finished) return;
    finished = true;
    release();
    reply.cork(() => reply.end());
  };
  const end = (): void => {
    if (finished) return;
    write(framing.end());
    if (finished) return; // too slow to take even the final frame: closed by the policy
    finished = true;
    release();
    reply.cork(() => reply.end());
  };
  const start = (): void => {
    if (started || reply.finished) return;
    started = true;
    o.streams.add(handle);
    reply.cork(() => {
      reply.status("200 OK").header("content-type", framing.contentType);
      reply.header("cache-control", "no-cache").header("x-accel-buffering", "no");
      reply.write(framing.opening);
    });
    heartbeat = setInterval(() => {
      // An idle at-least-once stream learns its newest cursor, so a reconnect replays nothing it never needed.
      const cursor = running?.cursor?.();
      if (cursor !== undefined && cursor !== lastCursor && framing.cursorBeat) {
        lastCursor = cursor;
        probe(framing.cursorBeat(cursor));
      } else probe(framing.heartbeat());
    }, o.heartbeatMs);
    unwatch = o.security.watchExpiry(o.ctx, () => {
      unwatch = undefined;
      write(framing.error([clientError(ErrorCode.TOKEN_EXPIRED, "the token expired")]));
      end();
    });
  };
  reply.onAbort = release;
  let failedEarly: readonly PlanError[] | undefined;
  running = o.engine.execute(
    o.request,
    {
      next: (json, meta) => {
        if (meta) lastCursor = meta.cursor;
        start();
        write(framing.result(json, meta?.cursor));
      },
      complete: () => {
        start();
        end();
      },
      error: (errors) => {
        if (!started) {
          failedEarly = errors;
          return;
        }
        write(framing.error(errors));
        end();
      },
    },
    o.ctx,
  );
  if (failedEarly) {
    ended();
    o.early(failedEarly);
    return;
  }
  start();
}
