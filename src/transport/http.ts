/**
 * HTTP on `graphql_path`: queries and mutations (GraphQL over HTTP: POST JSON, GET with query
 * parameters, GET mutations are 405) and subscriptions over SSE (`Accept: text/event-stream`,
 * graphql-sse "distinct connections" mode) and multipart. Every response goes through a
 * {@link Reply}, so no path can write to a response that ended or whose client left.
 */
import type { Config } from "../config/types.js";
import type { Engine } from "../engine/engine.js";
import { anonymous, type OperationRequest, type RequestContext } from "../engine/types.js";
import { clientError, ErrorCode } from "../errors.js";
import type { PlanError } from "../planner/plan.js";
import type { Security } from "../security/security.js";
import { authenticate } from "./authenticate.js";
import { multipartMode } from "../protocol/multipart.js";
import { limitError } from "../security/limits.js";
import { type Admission, admitConnection, clientKey, headWithinLimits } from "./admission.js";
import { corsOrigin } from "./cors.js";
import { type ParsedRequest, parseJsonBody, parseQueryString, readBody } from "./http-body.js";
import {
  type Framing,
  multipartFraming,
  runStream,
  SSE_FRAMING,
  type StreamRegistry,
  type StreamSendLimits,
} from "./http-stream.js";
import { traceContextOf } from "../telemetry/tracing.js";
import type { HeaderCapture } from "./headers.js";
import { type Header, JSON_TYPE, Reply, sendErrors } from "./reply.js";
import type { HttpRequest, HttpResponse, TemplatedApp } from "./uws.js";

const GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8";

/** Request media types a POST may carry (GraphQL over HTTP); anything else is 415. */
const BODY_TYPES = new Set(["application/json", "application/graphql-response+json"]);

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

interface Exchange {
  readonly reply: Reply;
  readonly accept: string;
  /** SSE reconnects send the last `id:` they saw: an at-least-once cursor to resume from. */
  readonly lastEventId: string;
  readonly ctx: RequestContext;
  /** The client's address key (a stream is a connection for the connection limits). */
  readonly client: Uint8Array;
}

interface HttpDeps {
  readonly config: Config;
  readonly engine: Engine;
  readonly limits: StreamSendLimits;
  readonly streams: StreamRegistry;
  readonly security: Security;
  readonly admission: Admission;
}

/** Options of {@link mountGraphqlHttp}. */
export interface HttpOptions {
  readonly config: Config;
  readonly engine: Engine;
  readonly limits: StreamSendLimits;
  readonly security: Security;
  readonly admission: Admission;
  /** Set when stream hooks need request headers: copies them per request. */
  readonly captureHeaders?: HeaderCapture;
  /** Keep the client's W3C trace context (tracing on). */
  readonly captureTrace?: boolean;
}

/** What a request asks for, decided from its operation kind and Accept header. */
function route(deps: HttpDeps, ex: Exchange, parsed: ParsedRequest, method: "GET" | "POST"): void {
  if (!parsed.ok) {
    sendErrors(ex.reply, "400 Bad Request", [{ message: parsed.message }]);
    return;
  }
  const request = withLastEventId(parsed.request, ex.lastEventId);
  const kind = deps.engine.operationKind(request);
  if (method === "GET" && kind === "mutation") {
    sendErrors(ex.reply, "405 Method Not Allowed", [{ message: "mutations need POST" }], [["allow", "POST"]]);
    return;
  }
  if (ex.accept.includes("text/event-stream")) {
    stream(deps, ex, request, SSE_FRAMING);
    return;
  }
  const mode = multipartMode(ex.accept);
  if (mode) {
    stream(deps, ex, request, multipartFraming(mode));
    return;
  }
  if (kind === "subscription") {
    sendErrors(ex.reply, "406 Not Acceptable", [
      { message: "subscriptions need a WebSocket, Accept: text/event-stream or Accept: multipart/mixed" },
    ]);
    return;
  }
  single(deps, ex, request);
}

/** `Last-Event-ID` resumes like `extensions.cursor` (which wins when both are sent). */
function withLastEventId(request: OperationRequest, lastEventId: string): OperationRequest {
  if (lastEventId === "" || request.extensions?.cursor !== undefined) return request;
  return { ...request, extensions: { ...request.extensions, cursor: lastEventId } };
}

/** Queries and mutations: one result. */
function single(deps: HttpDeps, ex: Exchange, request: OperationRequest): void {
  // GraphQL over HTTP: application/graphql-response+json only when the client asked for it;
  // a missing Accept, */* or application/json get application/json (the spec's SHOULDs, audited).
  const graphqlResponse = ex.accept.includes("application/graphql-response+json");
  const type = graphqlResponse ? GRAPHQL_RESPONSE : JSON_TYPE;
  let body: string | undefined;
  const running = deps.engine.execute(
    request,
    {
      next: (json) => {
        body = json;
      },
      complete: () => ex.reply.send("200 OK", [["content-type", type]], body ?? "{}"),
      error: (errors) => {
        // graphql-response+json signals request errors with 400; plain JSON keeps 200 (spec).
        const status = graphqlResponse ? "400 Bad Request" : "200 OK";
        ex.reply.send(status, [["content-type", type]], JSON.stringify({ errors }));
      },
    },
    ex.ctx,
  );
  ex.reply.onAbort = () => running.cancel();
}

/**
 * A stream refused before it started: the errors keep their `extensions.code` (a client tells
 * CURSOR_INVALID, LIMIT_EXCEEDED, validation apart, as over WebSocket); a rate limit is 429 with
 * Retry-After, so HTTP clients and proxies understand it too.
 */
function refuseStream(reply: Reply, errors: readonly PlanError[]): void {
  const retryAfter = errors.find((e) => e.extensions?.code === ErrorCode.RATE_LIMITED)?.extensions
    ?.retryAfter;
  if (typeof retryAfter === "number") {
    sendErrors(reply, "429 Too Many Requests", errors, [
      ["retry-after", String(Math.max(0, Math.ceil(retryAfter)))],
    ]);
    return;
  }
  sendErrors(reply, "400 Bad Request", errors);
}

function stream(deps: HttpDeps, ex: Exchange, request: OperationRequest, framing: Framing): void {
  const ticket = admitConnection(ex.reply, ex.client, deps.admission);
  if (ticket === undefined) return;
  runStream({
    onEnd: () => deps.admission.limiter.release(ticket),
    reply: ex.reply,
    request,
    ctx: ex.ctx,
    security: deps.security,
    framing,
    engine: deps.engine,
    heartbeatMs: deps.config.heartbeat_interval,
    streams: deps.streams,
    early: (errors) => refuseStream(ex.reply, errors),
    limits: deps.limits,
  });
}

/** Mounts the GraphQL HTTP routes; returns the open streams (shutdown ends them). */
export function mountGraphqlHttp(app: TemplatedApp, o: HttpOptions): StreamRegistry {
  const { config, security } = o;
  const deps: HttpDeps = { ...o, streams: new Set() };
  const { counter } = o.admission;
  /** The exchange, or undefined when the request head was refused (414/431, answered). */
  const exchange = (res: HttpResponse, req: HttpRequest): Exchange | undefined => {
    const allowed = corsOrigin(config.cors.allow_origins, req.getHeader("origin"));
    const common: Header[] = allowed ? [["access-control-allow-origin", allowed]] : [];
    const reply = new Reply(res, common);
    if (!headWithinLimits(req, reply, counter)) return undefined;
    const ctx = anonymous(reply.remoteAddress());
    if (o.captureHeaders) ctx.headers = o.captureHeaders(req);
    if (o.captureTrace) {
      const trace = traceContextOf((h) => req.getHeader(h) || undefined);
      if (trace) ctx.trace = trace;
    }
    return {
      reply,
      accept: req.getHeader("accept"),
      lastEventId: req.getHeader("last-event-id"),
      ctx,
      client: clientKey(res),
    };
  };
  /** Verifies the request's token; `next` runs only for an admitted caller, others get 401. */
  const admit = (ex: Exchange, req: HttpRequest, next: () => void): void =>
    authenticate(security, req.getHeader(security.headerName), ex.ctx, (refused) => {
      if (refused === undefined && (ex.ctx.auth || !security.required)) {
        next();
        return;
      }
      const message = refused ?? security.missing().message;
      sendErrors(
        ex.reply,
        "401 Unauthorized",
        [clientError(ErrorCode.UNAUTHENTICATED, message)],
        [["www-authenticate", "Bearer"]],
      );
    });

  app.post(config.graphql_path, (res, req) => {
    const ex = exchange(res, req);
    if (!ex) return;
    const type = mediaType(req.getHeader("content-type"));
    if (!BODY_TYPES.has(type)) {
      // A form or text/plain POST is what a cross-site page can send without a preflight.
      sendErrors(ex.reply, "415 Unsupported Media Type", [
        {
          message: `Content-Type must be application/json (got ${type === "" ? "none" : JSON.stringify(type)})`,
        },
      ]);
      return;
    }
    // The body streams in while the token is verified; the request runs once both are done.
    let body: Buffer | undefined;
    let admitted = false;
    readBody(ex.reply, config.limits.max_message_size, config.limits.body_read_timeout, (read) => {
      if (read.ok) {
        body = read.body;
        if (admitted) route(deps, ex, parseJsonBody(body), "POST");
        return;
      }
      // The rest of the body is never read: the connection closes after the answer.
      if (read.reason === "too_large") {
        counter.refused("max_message_size");
        const error = limitError(
          "max_message_size",
          `request body larger than ${config.limits.max_message_size} bytes`,
        );
        sendErrors(ex.reply, "413 Payload Too Large", [error], [], true);
      } else {
        counter.refused("body_read_timeout");
        const error = limitError(
          "body_read_timeout",
          `request body not received within ${config.limits.body_read_timeout} ms`,
        );
        sendErrors(ex.reply, "408 Request Timeout", [error], [], true);
      }
    });
    admit(ex, req, () => {
      admitted = true;
      if (body !== undefined) route(deps, ex, parseJsonBody(body), "POST");
    });
  });

  app.get(config.graphql_path, (res, req) => {
    const ex = exchange(res, req);
    if (!ex) return;
    const query = req.getQuery() ?? "";
    admit(ex, req, () => route(deps, ex, parseQueryString(query), "GET"));
  });

  app.options(config.graphql_path, (res, req) => {
    const allowed = corsOrigin(config.cors.allow_origins, req.getHeader("origin"));
    const reply = new Reply(res);
    const headers: Header[] = allowed
      ? [
          ["access-control-allow-origin", allowed],
          ["access-control-allow-methods", "GET, POST, OPTIONS"],
          ["access-control-allow-headers", "content-type, authorization, accept, last-event-id"],
        ]
      : [];
    reply.send("204 No Content", headers, "");
  });
  return deps.streams;
}
