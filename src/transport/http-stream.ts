/**
 * Streaming HTTP subscriptions: SSE and multipart share one lifecycle (flush the head at once,
 * heartbeats, one frame per result, a final frame) and differ only in framing.
 */
import type { Engine, OperationRequest, RunningOperation } from "../engine/engine.js";
import type { PlanError } from "../planner/plan.js";
import * as multipart from "../protocol/multipart.js";
import { sseComment, sseEvent } from "../protocol/sse.js";
import type { HttpResponse } from "./uws.js";

/** How one streaming transport frames its output. */
export interface Framing {
  readonly contentType: string;
  /** Written with the head so proxies and clients see the stream start at once. */
  readonly opening: string;
  result(json: string): string;
  heartbeat(): string;
  /** An error after the stream started (the operation is over). */
  error(errors: readonly PlanError[]): string;
  end(): string;
}

export const SSE_FRAMING: Framing = {
  contentType: "text/event-stream; charset=utf-8",
  opening: sseComment(""),
  result: (json) => sseEvent("next", json),
  heartbeat: () => sseComment(""),
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

export interface StreamExchange {
  readonly res: HttpResponse;
  aborted: boolean;
  onAbort?: () => void;
  /** Writes status + CORS headers (inside a cork). */
  writeHead(status: string): void;
}

/** Open streams, so shutdown can end each one properly. */
export type StreamRegistry = Set<{ end(): void }>;

/**
 * Runs `request` as a stream. Errors before anything was written become a 400 JSON response
 * (`early`), so a client sees a normal HTTP error for an invalid operation.
 */
export function runStream(
  ex: StreamExchange,
  request: OperationRequest,
  framing: Framing,
  engine: Pick<Engine, "execute">,
  heartbeatMs: number,
  streams: StreamRegistry,
  early: (errors: readonly PlanError[]) => void,
): void {
  let started = false;
  let finished = false;
  let running: RunningOperation | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const handle = { end: () => end() };
  const write = (chunk: string): void => {
    if (chunk !== "" && !ex.aborted && !finished) ex.res.cork(() => ex.res.write(chunk));
  };
  const end = (): void => {
    if (finished) return;
    write(framing.end());
    finished = true;
    clearInterval(heartbeat);
    streams.delete(handle);
    running?.cancel();
    if (!ex.aborted) ex.res.cork(() => ex.res.end());
  };
  const start = (): void => {
    if (started || ex.aborted) return;
    started = true;
    streams.add(handle);
    ex.res.cork(() => {
      ex.writeHead("200 OK");
      ex.res.writeHeader("content-type", framing.contentType);
      ex.res.writeHeader("cache-control", "no-cache").writeHeader("x-accel-buffering", "no");
      ex.res.write(framing.opening);
    });
    heartbeat = setInterval(() => write(framing.heartbeat()), heartbeatMs);
  };
  ex.onAbort = () => {
    clearInterval(heartbeat);
    streams.delete(handle);
    running?.cancel();
  };
  let failedEarly: readonly PlanError[] | undefined;
  running = engine.execute(request, {
    next: (json) => {
      start();
      write(framing.result(json));
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
  });
  if (failedEarly) {
    early(failedEarly);
    return;
  }
  start();
}
