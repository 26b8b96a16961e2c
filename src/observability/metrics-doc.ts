/**
 * The text of docs/metrics.md: every series /metrics can show, read from the registry itself
 * (name, type, labels, help), so the reference cannot drift from the code.
 * `npm run docs:metrics` writes it; test/unit/observability/metrics-doc.test.ts compares.
 */
import { Counter, Gauge, Histogram } from "prom-client";
import { ErrorCode, StreamgateError } from "../errors.js";
import { createMetrics } from "./metrics.js";

function kind(m: unknown): string {
  if (m instanceof Counter) return "counter";
  if (m instanceof Histogram) return "histogram";
  if (m instanceof Gauge) return "gauge";
  return "other";
}

/** docs/metrics.md. Sources are never read while metrics are registered, only at a scrape. */
export function metricsReference(): string {
  const unread = (): never => {
    throw new StreamgateError(ErrorCode.INTERNAL, "metrics read at registration");
  };
  const { registry } = createMetrics({
    engine: unread,
    providers: new Map(),
    ws: unread,
    security: {} as never,
    delivery: {} as never,
    limits: unread,
    hooks: unread,
  });
  const rows = registry.getMetricsAsArray().map((m) => {
    const metric = m as unknown as { name: string; help: string; labelNames?: readonly string[] };
    const labels = metric.labelNames?.length ? metric.labelNames.map((l) => `\`${l}\``).join(", ") : "";
    return `| \`${metric.name}\` | ${kind(m)} | ${labels} | ${metric.help.replace(/\|/g, "\\|")} |`;
  });
  return `# Metrics

Generated from the registry (src/observability/metrics.ts) by \`npm run docs:metrics\`; a test
fails when this file and the code differ.

\`GET /metrics\` on the router's port answers in the Prometheus text format. Almost every series
is read at scrape time from counters the components keep anyway, so serving events pays nothing
for them. With \`workers: N\` the primary merges every worker's registry: every series is summed
over the workers except \`streamgate_provider_up\` and \`streamgate_session_buffer_available\`,
which take the minimum (1 only when every worker's connection is up).
Series with a \`provider\` label exist for each configured provider; the JetStream, Kafka and
session-buffer series only for providers of that kind; the hook series only with \`modules:\`.

| name | type | labels | meaning |
| --- | --- | --- | --- |
${rows.join("\n")}
`;
}
