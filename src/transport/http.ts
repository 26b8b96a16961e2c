/**
 * HTTP on `graphql_path`: queries and mutations (GraphQL over HTTP: POST JSON, GET with query
 * parameters, GET mutations are 405) and subscriptions over SSE (`Accept: text/event-stream`,
 * graphql-sse "distinct connections" mode). Responses written after an await are corked.
 */
import type { Config } from "../config/types.js";
import type { Engine, OperationRequest } from "../engine/engine.js";
import { multipartMode } from "../protocol/multipart.js";
import { corsOrigin } from "./cors.js";
import {
  type Framing,
  multipartFraming,
  runStream,
  type StreamSendLimits,
  SSE_FRAMING,
  type StreamExchange,
  type StreamRegistry,
} from "./http-stream.js";
import { type ParsedRequest, parseJsonBody, parseQueryString, readBody } from "./http-body.js";
import type { HttpResponse, TemplatedApp } from "./uws.js";

const GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8";
const JSON_TYPE = "application/json; charset=utf-8";

interface Exchange extends StreamExchange {
  readonly accept: string;
  readonly origin: string;
}

/** Mounts the GraphQL HTTP routes; returns the open streams (shutdown ends them). */
export function mountGraphqlHttp(
  app: TemplatedApp,
  config: Config,
  engine: Engine,
  limits: StreamSendLimits,
): StreamRegistry {
  const streams: StreamRegistry = new Set();
  const cors = (ex: Exchange): void => {
    const allowed = corsOrigin(config.cors.allow_origins, ex.origin);
    if (allowed) ex.res.writeHeader("access-control-allow-origin", allowed);
  };

  const respond = (ex: Exchange, status: string, contentType: string, body: string): void => {
    if (ex.aborted) return;
    ex.res.cork(() => {
      ex.res.writeStatus(status);
      cors(ex);
      ex.res.writeHeader("content-type", contentType).end(body);
    });
  };

  const badRequest = (ex: Exchange, message: string): void =>
    respond(ex, "400 Bad Request", JSON_TYPE, JSON.stringify({ errors: [{ message }] }));

  const handle = (ex: Exchange, parsed: ParsedRequest, method: "GET" | "POST"): void => {
    if (!parsed.ok) {
      badRequest(ex, parsed.message);
      return;
    }
    const request = parsed.request;
    const planned = engine.planner.plan(request.query, request.operationName);
    const kind = planned.ok ? planned.plan.kind : undefined;
    if (method === "GET" && kind === "mutation") {
      if (ex.aborted) return;
      ex.res.cork(() => {
        ex.res.writeStatus("405 Method Not Allowed").writeHeader("allow", "POST");
        ex.res
          .writeHeader("content-type", JSON_TYPE)
          .end(JSON.stringify({ errors: [{ message: "mutations need POST" }] }));
      });
      return;
    }
    if (ex.accept.includes("text/event-stream")) {
      stream(ex, request, SSE_FRAMING);
      return;
    }
    const mode = multipartMode(ex.accept);
    if (mode) {
      stream(ex, request, multipartFraming(mode));
      return;
    }
    if (kind === "subscription") {
      respond(
        ex,
        "406 Not Acceptable",
        JSON_TYPE,
        JSON.stringify({
          errors: [
            {
              message: "subscriptions need a WebSocket, Accept: text/event-stream or Accept: multipart/mixed",
            },
          ],
        }),
      );
    }
    single(ex, request);
  };

  /** Queries and mutations: one result. */
  const single = (ex: Exchange, request: OperationRequest): void => {
    const graphqlResponse =
      ex.accept.includes("application/graphql-response+json") || !ex.accept.includes("application/json");
    const type = graphqlResponse ? GRAPHQL_RESPONSE : JSON_TYPE;
    let body: string | undefined;
    const running = engine.execute(request, {
      next: (json) => {
        body = json;
      },
      complete: () => respond(ex, "200 OK", type, body ?? "{}"),
      error: (errors) => {
        // graphql-response+json signals request errors with 400; plain JSON keeps 200 (spec).
        respond(ex, graphqlResponse ? "400 Bad Request" : "200 OK", type, JSON.stringify({ errors }));
      },
    });
    ex.onAbort = () => running.cancel();
  };

  const stream = (ex: Exchange, request: OperationRequest, framing: Framing): void =>
    runStream(
      ex,
      request,
      framing,
      engine,
      config.heartbeat_interval,
      streams,
      (errors) => badRequest(ex, errors.map((e) => e.message).join("; ")),
      limits,
    );

  const exchange = (res: HttpResponse, accept: string, origin: string): Exchange => {
    const ex: Exchange = {
      res,
      accept,
      origin,
      aborted: false,
      writeHead: (status) => {
        res.writeStatus(status);
        cors(ex);
      },
    };
    res.onAborted(() => {
      ex.aborted = true;
      ex.onAbort?.();
    });
    return ex;
  };

  app.post(config.graphql_path, (res, req) => {
    const ex = exchange(res, req.getHeader("accept"), req.getHeader("origin"));
    readBody(res, config.limits.max_message_size, (body) => {
      if (body === null) {
        respond(
          ex,
          "413 Payload Too Large",
          JSON_TYPE,
          JSON.stringify({ errors: [{ message: "request body too large" }] }),
        );
        return;
      }
      handle(ex, parseJsonBody(body), "POST");
    });
  });

  app.get(config.graphql_path, (res, req) => {
    const ex = exchange(res, req.getHeader("accept"), req.getHeader("origin"));
    handle(ex, parseQueryString(req.getQuery() ?? ""), "GET");
  });

  app.options(config.graphql_path, (res, req) => {
    const allowed = corsOrigin(config.cors.allow_origins, req.getHeader("origin"));
    res.writeStatus("204 No Content");
    if (allowed) {
      res.writeHeader("access-control-allow-origin", allowed);
      res.writeHeader("access-control-allow-methods", "GET, POST, OPTIONS");
      res.writeHeader("access-control-allow-headers", "content-type, authorization, accept, last-event-id");
    }
    res.end();
  });
  return streams;
}
