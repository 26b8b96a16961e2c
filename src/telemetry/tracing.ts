/**
 * OpenTelemetry traces (issue 14), off by default. When `telemetry.tracing.enabled` is false no
 * OpenTelemetry module is loaded and the router holds `undefined` where a Tracing would be, so
 * every call site costs one check (`tracing?.…`). When on: spans are exported over OTLP/HTTP in
 * batches, sampled per trace (parent-based, `sampling_rate` for new traces), and W3C trace context
 * is read from clients and written to subgraphs and broker messages, so one trace runs from a
 * publish mutation through the broker to every socket that received the event.
 *
 * The router passes trace context around as the W3C header values themselves (`traceparent`,
 * `tracestate`): plain strings, cheap to keep on a request, in broker headers and across workers.
 */
import type { TelemetryConfig } from "../config/types.js";

/** W3C trace context as its header values. */
export interface TraceContext {
  readonly traceparent: string;
  readonly tracestate?: string;
}

export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

export interface TraceSpan {
  setAttribute(key: string, value: string | number | boolean): void;
  /** Marks the span failed with a message (never a stack: spans leave the process). */
  fail(message: string): void;
  end(): void;
  /** This span as the parent of the next hop (a header to send with it). */
  readonly context: TraceContext;
}

export interface Tracing {
  /** A span; its parent comes from `parent` (a client's, a broker message's, a span's context). */
  start(name: string, parent: TraceContext | undefined, attributes?: SpanAttributes): TraceSpan;
  /** Exports what is pending and stops. */
  shutdown(): Promise<void>;
}

/** The trace context in a headers-like lookup (traceparent / tracestate), if it has a valid one. */
export function traceContextOf(get: (name: string) => string | undefined): TraceContext | undefined {
  const traceparent = get("traceparent");
  if (!traceparent || !/^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/.test(traceparent.trim()))
    return undefined;
  const tracestate = get("tracestate");
  return { traceparent: traceparent.trim(), ...(tracestate ? { tracestate: tracestate.slice(0, 512) } : {}) };
}

/** The headers that carry `ctx` to the next hop. */
export function traceHeaders(ctx: TraceContext): Record<string, string> {
  return ctx.tracestate
    ? { traceparent: ctx.traceparent, tracestate: ctx.tracestate }
    : { traceparent: ctx.traceparent };
}

/** Loads OpenTelemetry and starts exporting, or returns undefined when tracing is off. */
export async function createTracing(config: TelemetryConfig): Promise<Tracing | undefined> {
  const t = config.tracing;
  if (!t.enabled) return undefined;
  const [api, core, sdk, { OTLPTraceExporter }, resources] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/core"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
  ]);
  const processors = t.exporters.map(
    (e) =>
      new sdk.BatchSpanProcessor(
        new OTLPTraceExporter({
          url: `${e.endpoint.replace(/\/$/, "")}${e.path}`,
          headers: { ...e.headers },
        }),
        { scheduledDelayMillis: e.batch_timeout, maxQueueSize: 8192 },
      ),
  );
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ "service.name": config.service_name }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(t.sampling_rate) }),
    spanProcessors: processors,
  });
  const tracer = provider.getTracer("streamgate");
  const propagator = new core.W3CTraceContextPropagator();
  const getter = {
    get: (c: TraceContext, key: string) =>
      key === "traceparent" ? c.traceparent : key === "tracestate" ? c.tracestate : undefined,
    keys: () => ["traceparent", "tracestate"],
  };
  const setter = {
    set: (c: Record<string, string>, key: string, value: string) => {
      c[key] = value;
    },
  };
  return {
    start(name, parent, attributes) {
      const parentCtx = parent ? propagator.extract(api.ROOT_CONTEXT, parent, getter) : api.ROOT_CONTEXT;
      const span = tracer.startSpan(name, attributes ? { attributes } : {}, parentCtx);
      const carrier: Record<string, string> = {};
      propagator.inject(api.trace.setSpan(api.ROOT_CONTEXT, span), carrier, setter);
      const context: TraceContext = {
        traceparent: carrier.traceparent ?? "",
        ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
      };
      return {
        setAttribute: (k, v) => span.setAttribute(k, v),
        fail: (message) => span.setStatus({ code: api.SpanStatusCode.ERROR, message }),
        end: () => span.end(),
        context,
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
