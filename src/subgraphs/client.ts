/**
 * HTTP client for ordinary subgraphs: one keep-alive undici Pool per subgraph origin, JSON in and
 * out, a per-request timeout. Transport or HTTP failures become SubgraphError with a message safe
 * to show a client (the URL is internal and stays out of it).
 */
import { ErrorCode, StreamgateError } from "../errors.js";
import type { Pool } from "undici";
import type { SubgraphEndpoint } from "../federation/model.js";
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

// undici is imported on the first subgraph request (pool.ts): a graph with no ordinary subgraph
// never pays its resident memory.
let pools: Promise<typeof import("./pool.js")> | undefined;

export class SubgraphClient {
  private readonly pools = new Map<string, { pool?: Pool; origin: string; path: string }>();
  readonly stats = new Map<string, SubgraphStats>();

  constructor(
    endpoints: ReadonlyMap<string, SubgraphEndpoint>,
    private readonly timeoutMs: number,
    /** Send W3C trace context to subgraphs (telemetry.tracing.propagation.trace_context). */
    private readonly propagate = true,
  ) {
    for (const [name, ep] of endpoints) {
      const url = new URL(ep.url);
      this.pools.set(name, { origin: url.origin, path: `${url.pathname}${url.search}` });
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
    const target = this.pools.get(subgraph);
    const stats = this.stats.get(subgraph);
    if (!target || !stats) throw new SubgraphError(subgraph, `subgraph ${subgraph} has no routing_url`);
    stats.requests++;
    try {
      if (!target.pool) {
        pools ??= import("./pool.js");
        const { createPool } = await pools;
        target.pool ??= createPool(target.origin);
      }
      const res = await target.pool.request({
        path: target.path,
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/graphql-response+json, application/json",
          ...(trace ? traceHeaders(trace) : {}),
        },
        body: JSON.stringify({ query, variables }),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.body.text();
      let body: SubgraphResponse;
      try {
        body = JSON.parse(text) as SubgraphResponse;
      } catch {
        throw new SubgraphError(
          subgraph,
          `subgraph ${subgraph} answered HTTP ${res.statusCode} with a body that is not JSON`,
        );
      }
      if (res.statusCode >= 300 && !body.errors && !body.data) {
        throw new SubgraphError(subgraph, `subgraph ${subgraph} answered HTTP ${res.statusCode}`);
      }
      return body;
    } catch (err) {
      stats.failures++;
      if (err instanceof SubgraphError) throw err;
      const reason =
        (err as Error).name === "TimeoutError" || (err as { code?: string }).code?.includes("TIMEOUT")
          ? `timed out after ${this.timeoutMs} ms`
          : "could not be reached";
      throw new SubgraphError(subgraph, `subgraph ${subgraph} ${reason}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.pool?.close().catch(() => {})));
  }
}
