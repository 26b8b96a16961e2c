/**
 * HTTP client for ordinary subgraphs: keep-alive node:http connections per subgraph origin
 * (http-post.ts), JSON in and out, a per-request timeout, a bound on the response size. Transport or HTTP failures become SubgraphError with a message safe
 * to show a client (the URL is internal and stays out of it).
 */
import { ErrorCode, StreamgateError } from "../errors.js";
import type { SubgraphEndpoint } from "../federation/model.js";
import { HttpPoster, PostFailure } from "./http-post.js";
import { type TraceContext, type Tracing, traceHeaders } from "../telemetry/tracing.js";

export interface GraphqlError {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: Record<string, unknown>;
}

export interface SubgraphResponse {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly GraphqlError[];
}

/** A subgraph request failed; the message names the subgraph, never its URL. */
export class SubgraphError extends StreamgateError {
  constructor(
    readonly subgraph: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.SUBGRAPH_FAILED, message, options);
    this.name = "SubgraphError";
  }
}

export interface SubgraphStats {
  requests: number;
  failures: number;
}

/** Connections kept per subgraph origin. */
const MAX_SOCKETS = 32;
/** Idle keep-alive connections are closed after this. */
const IDLE_MS = 30_000;
/** A subgraph answer above this fails the request instead of filling the router's memory. */
export const MAX_SUBGRAPH_RESPONSE_BYTES = 64 * 1024 * 1024;

export class SubgraphClient {
  private readonly targets = new Map<string, URL>();
  private readonly http = new HttpPoster({
    maxSockets: MAX_SOCKETS,
    idleMs: IDLE_MS,
    maxBodyBytes: MAX_SUBGRAPH_RESPONSE_BYTES,
  });
  readonly stats = new Map<string, SubgraphStats>();

  constructor(
    endpoints: ReadonlyMap<string, SubgraphEndpoint>,
    private readonly timeoutMs: number,
    /** Send W3C trace context to subgraphs (telemetry.tracing.propagation.trace_context). */
    private readonly propagate = true,
  ) {
    for (const [name, ep] of endpoints) {
      this.targets.set(name, new URL(ep.url));
      this.stats.set(name, { requests: 0, failures: 0 });
    }
  }

  /**
   * POSTs one GraphQL request; rejects with SubgraphError on transport, HTTP or JSON failure.
   * With `trace` (tracing on) the request is a span of its own and carries its W3C context.
   */
  async post(
    subgraph: string,
    query: string,
    variables: Record<string, unknown>,
    trace?: { readonly tracing: Tracing; readonly parent: TraceContext | undefined },
  ): Promise<SubgraphResponse> {
    if (!trace) return this.send(subgraph, query, variables, undefined);
    const span = trace.tracing.start("streamgate.subgraph.fetch", trace.parent, {
      "streamgate.subgraph": subgraph,
    });
    try {
      return await this.send(subgraph, query, variables, this.propagate ? span.context : undefined);
    } catch (err) {
      span.fail(err instanceof Error ? err.message : "failed");
      throw err;
    } finally {
      span.end();
    }
  }

  private async send(
    subgraph: string,
    query: string,
    variables: Record<string, unknown>,
    trace: TraceContext | undefined,
  ): Promise<SubgraphResponse> {
    const target = this.targets.get(subgraph);
    const stats = this.stats.get(subgraph);
    if (!target || !stats) throw new SubgraphError(subgraph, `subgraph ${subgraph} has no routing_url`);
    stats.requests++;
    try {
      const res = await this.http.post(
        target,
        {
          "content-type": "application/json",
          accept: "application/graphql-response+json, application/json",
          ...(trace ? traceHeaders(trace) : {}),
        },
        JSON.stringify({ query, variables }),
        this.timeoutMs,
      );
      const text = res.text;
      let body: SubgraphResponse;
      try {
        body = JSON.parse(text) as SubgraphResponse;
      } catch {
        throw new SubgraphError(
          subgraph,
          `subgraph ${subgraph} answered HTTP ${res.status} with a body that is not JSON`,
        );
      }
      // JSON that is not an object (null, a number, an array) is no GraphQL response; found by
      // the subgraph fuzz target (a number passed as an answer, `null` threw below and was
      // reported as "could not be reached").
      if (body === null || typeof body !== "object" || Array.isArray(body)) {
        throw new SubgraphError(
          subgraph,
          `subgraph ${subgraph} answered HTTP ${res.status} with JSON that is not a GraphQL response`,
        );
      }
      if (res.status >= 300 && !body.errors && !body.data) {
        throw new SubgraphError(subgraph, `subgraph ${subgraph} answered HTTP ${res.status}`);
      }
      return body;
    } catch (err) {
      stats.failures++;
      if (err instanceof SubgraphError) throw err;
      const reason = err instanceof PostFailure ? err.message : "could not be reached";
      throw new SubgraphError(subgraph, `subgraph ${subgraph} ${reason}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
