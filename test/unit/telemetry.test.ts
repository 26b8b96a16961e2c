import { describe, expect, it } from "vitest";
import { defaultConfig } from "../../src/config/loader.js";
import { createTracing, traceContextOf, traceHeaders } from "../../src/telemetry/tracing.js";
import { startCollector } from "../helpers/otlp.js";

describe("tracing", () => {
  it("is nothing at all when off (the default): call sites check for undefined", async () => {
    expect(defaultConfig().telemetry.tracing.enabled).toBe(false);
    expect(await createTracing(defaultConfig().telemetry)).toBeUndefined();
  });

  it("reads only well-formed W3C trace context, and writes it back", () => {
    const ok = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const get = (v: Record<string, string>) => (h: string) => v[h];
    expect(traceContextOf(get({ traceparent: ok, tracestate: "a=b" }))).toEqual({
      traceparent: ok,
      tracestate: "a=b",
    });
    for (const bad of ["", "00-zz-b7ad6b7169203331-01", `${ok}-x`, "x".repeat(100)])
      expect(traceContextOf(get({ traceparent: bad }))).toBeUndefined();
    expect(traceHeaders({ traceparent: ok })).toEqual({ traceparent: ok });
  });

  it("starts spans that carry their own context for the next hop, and exports them", async () => {
    const collector = await startCollector();
    const tracing = (await createTracing({
      service_name: "t",
      tracing: {
        enabled: true,
        sampling_rate: 1,
        exporters: [{ endpoint: collector.url, path: "/v1/traces", batch_timeout: 60_000 }],
        propagation: { trace_context: true },
      },
    }))!;
    const parent = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
    const span = tracing.start("x", parent);
    expect(span.context.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(span.context.traceparent).not.toBe(parent.traceparent);
    span.end();
    // Sampling 0 with no parent: not recorded, and says so in its flags.
    const off = (await createTracing({
      service_name: "t",
      tracing: { enabled: true, sampling_rate: 0, exporters: [], propagation: { trace_context: true } },
    }))!;
    expect(off.start("y", undefined).context.traceparent).toMatch(/-00$/);
    await Promise.all([tracing.shutdown(), off.shutdown()]);
    expect(collector.spans.map((s) => [s.name, s.traceId])).toEqual([
      ["x", "0af7651916cd43dd8448eb211c80319c"],
    ]);
    await collector.close();
  });
});
