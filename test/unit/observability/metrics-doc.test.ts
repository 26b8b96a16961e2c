import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { metricsReference } from "../../../src/observability/metrics-doc.js";

const DOC = fileURLToPath(new URL("../../../docs/metrics.md", import.meta.url));

describe("docs/metrics.md", () => {
  it("is what the registry gives (npm run docs:metrics)", () => {
    expect(readFileSync(DOC, "utf8")).toBe(metricsReference());
  });

  it("lists every series with its type, including the ones only some configs show", () => {
    const text = metricsReference();
    for (const line of [
      "| `streamgate_connections` | gauge |",
      "| `streamgate_connections_lost_total` | counter |",
      "| `streamgate_delivery_latency_seconds` | histogram |",
      "| `streamgate_hook_calls_total` | counter | `module`, `hook` |",
      "| `streamgate_kafka_consumer_lag` | gauge | `provider`, `topic`, `partition` |",
    ])
      expect(text).toContain(line);
  });
});
