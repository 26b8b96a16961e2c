/**
 * A collector for tests: a real HTTP server that takes OTLP/HTTP JSON trace exports (what
 * @opentelemetry/exporter-trace-otlp-http sends) and keeps every span, flattened.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface CollectedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly attributes: Record<string, unknown>;
  readonly status?: { code?: number; message?: string };
}

export interface Collector {
  readonly url: string;
  readonly spans: CollectedSpan[];
  close(): Promise<void>;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
const anyValue = (v: AnyValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));

export async function startCollector(): Promise<Collector> {
  const spans: CollectedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          resourceSpans?: { scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
        };
        for (const rs of body.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? []) {
              const attributes: Record<string, unknown> = {};
              for (const a of (s.attributes as { key: string; value: AnyValue }[] | undefined) ?? [])
                attributes[a.key] = anyValue(a.value);
              spans.push({
                name: String(s.name),
                traceId: String(s.traceId),
                spanId: String(s.spanId),
                ...(s.parentSpanId ? { parentSpanId: String(s.parentSpanId) } : {}),
                attributes,
                ...(s.status ? { status: s.status as CollectedSpan["status"] } : {}),
              });
            }
      } catch {
        // not JSON: ignored, the test will miss the spans it expected
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, close: () => new Promise((r) => server.close(() => r())) };
}
