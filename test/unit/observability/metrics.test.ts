import { describe, expect, it } from "vitest";
import type { EngineStats } from "../../../src/engine/engine.js";
import { defaultConfig } from "../../../src/config/loader.js";
import { createMetrics } from "../../../src/observability/metrics.js";
import { Security } from "../../../src/security/security.js";
import type { LimitName } from "../../../src/security/limits.js";
import type { WsStats } from "../../../src/transport/websocket.js";

function engineStats(over: Partial<EngineStats> = {}): EngineStats {
  return {
    subscriptions: 0,
    triggers: 0,
    groups: 0,
    brokerSubscriptions: 0,
    cachedPlans: 0,
    eventsReceived: 0,
    eventsInvalid: 0,
    eventsSkipped: new Map([["filtered", 0]]),
    resolutions: 0,
    deliveries: 0,
    subgraphs: new Map([["employees", { requests: 0, failures: 0 }]]),
    ...over,
  };
}

const ws: WsStats = { connections: 3, dropped: 0, slowClosed: 0, lost: 0, bufferedBytes: 0 };

describe("metrics", () => {
  it("registers every _total series as a counter, and every counter ends in _total", async () => {
    const { registry } = createMetrics({
      engine: () => engineStats(),
      providers: new Map(),
      ws: () => ws,
      security: new Security(defaultConfig()).stats,
      limits: () => new Map(),
    });
    const json = await registry.getMetricsAsJSON();
    for (const m of json) {
      if (m.name.endsWith("_total")) expect([m.name, String(m.type)]).toEqual([m.name, "counter"]);
      if (String(m.type) === "counter") expect(m.name).toMatch(/_total$/);
    }
  });

  it("mirrors the engine's snapshot: counters grow by what the source grew, gauges read it", async () => {
    let stats = engineStats({ deliveries: 5, subscriptions: 2 });
    let limits = new Map<LimitName, number>([["max_connections", 1]]);
    const { registry } = createMetrics({
      engine: () => stats,
      providers: new Map(),
      ws: () => ws,
      security: new Security(defaultConfig()).stats,
      limits: () => limits,
    });
    const read = async (name: string) =>
      (await registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels, v.value]);
    expect(await read("streamgate_deliveries_total")).toEqual([[{}, 5]]);
    expect(await read("streamgate_limit_refusals_total")).toEqual([[{ limit: "max_connections" }, 1]]);
    stats = engineStats({
      deliveries: 12,
      subscriptions: 1,
      subgraphs: new Map([["employees", { requests: 4, failures: 1 }]]),
      eventsSkipped: new Map([
        ["filtered", 2],
        ["unknown_typename", 3],
      ]),
    });
    limits = new Map([["max_connections", 4]]);
    expect(await read("streamgate_deliveries_total")).toEqual([[{}, 12]]);
    expect(await read("streamgate_subscriptions")).toEqual([[{}, 1]]);
    expect(await read("streamgate_limit_refusals_total")).toEqual([[{ limit: "max_connections" }, 4]]);
    expect(await read("streamgate_events_skipped_total")).toEqual([
      [{ reason: "filtered" }, 2],
      [{ reason: "unknown_typename" }, 3],
    ]);
    expect(await read("streamgate_connections")).toEqual([[{}, 3]]);
    expect(await read("streamgate_subgraph_requests_total")).toEqual([
      [{ subgraph: "employees", outcome: "sent" }, 4],
      [{ subgraph: "employees", outcome: "failed" }, 1],
    ]);
  });
});
