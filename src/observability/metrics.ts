/**
 * Prometheus metrics (prom-client). Almost everything is read at scrape time from counters the
 * components already keep, so the hot path pays nothing for metrics; the one histogram (event to
 * socket latency) is observed once per resolution group per event, not per client.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Engine } from "../engine/engine.js";
import type { Provider } from "../providers/provider.js";
import type { WsStats } from "../transport/websocket.js";

export interface MetricsSources {
  readonly engine: Engine;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly ws: WsStats;
}

/** Gauge whose value is computed at scrape time. */
function live(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** Counter mirrored from a monotonic number we keep elsewhere. */
function mirrored(registry: Registry, name: string, help: string, read: () => number): void {
  let last = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > last) this.inc(now - last);
      last = now;
    },
  });
}

export function createMetrics(src: MetricsSources): { registry: Registry; deliveryLatency: Histogram } {
  const registry = new Registry();
  const { engine, providers, ws } = src;
  const stats = engine.triggers.stats;
  live(registry, "streamgate_connections", "Open WebSocket connections.", () => ws.connections);
  live(registry, "streamgate_subscriptions", "Active client subscriptions.", () => engine.subscriptions);
  live(
    registry,
    "streamgate_triggers",
    "Distinct (provider, topics) event sources.",
    () => engine.triggers.triggerCount,
  );
  live(
    registry,
    "streamgate_resolution_groups",
    "Distinct (trigger, operation, variables) groups.",
    () => engine.triggers.groupCount,
  );
  live(
    registry,
    "streamgate_broker_subscriptions",
    "Broker subscriptions held (one per provider and topic).",
    () => engine.topics.size,
  );
  live(
    registry,
    "streamgate_operation_plans_cached",
    "Operation plans in the LRU cache.",
    () => engine.planner.cachedPlans,
  );
  mirrored(
    registry,
    "streamgate_events_received_total",
    "Broker events received by triggers.",
    () => stats.eventsReceived,
  );
  mirrored(
    registry,
    "streamgate_events_invalid_total",
    "Broker events that were not JSON objects.",
    () => stats.eventsInvalid,
  );
  mirrored(
    registry,
    "streamgate_resolutions_total",
    "Event resolutions (one per group per event).",
    () => stats.resolutions,
  );
  mirrored(
    registry,
    "streamgate_deliveries_total",
    "Messages handed to client sockets.",
    () => stats.deliveries,
  );
  mirrored(
    registry,
    "streamgate_messages_dropped_total",
    "Messages dropped for slow clients (policy drop).",
    () => ws.dropped,
  );
  mirrored(
    registry,
    "streamgate_slow_clients_closed_total",
    "Clients closed for being too slow (policy close).",
    () => ws.slowClosed,
  );
  live(
    registry,
    "streamgate_send_buffered_bytes",
    "Bytes WebSockets hold in user space for clients that are behind (bounded by limits.max_total_backpressure).",
    () => ws.bufferedBytes,
  );

  const providerGauge = (
    name: string,
    help: string,
    pick: (p: Provider) => number,
    // With worker threads the primary merges every worker's registry; sum unless said otherwise.
    aggregator: "sum" | "min" = "sum",
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: ["provider", "kind"],
      registers: [registry],
      aggregator,
      collect() {
        for (const p of providers.values()) this.set({ provider: p.id, kind: p.kind }, pick(p));
      },
    });
  };
  // Up only when every worker's connection is up (min over workers), so it reads 0 or 1.
  providerGauge(
    "streamgate_provider_up",
    "1 when the provider is connected (on every worker thread).",
    (p) => (p.health().connected ? 1 : 0),
    "min",
  );
  providerGauge(
    "streamgate_provider_received_total",
    "Messages received from the broker.",
    (p) => p.health().counters.received,
  );
  providerGauge(
    "streamgate_provider_published_total",
    "Messages published to the broker.",
    (p) => p.health().counters.published,
  );
  providerGauge("streamgate_provider_errors_total", "Provider errors.", (p) => p.health().counters.errors);
  providerGauge(
    "streamgate_provider_reconnects_total",
    "Broker reconnects.",
    (p) => p.health().counters.reconnects,
  );
  new Gauge({
    name: "streamgate_provider_lag",
    help: "Messages behind the broker head over the provider's consumers (JetStream, Kafka).",
    labelNames: ["provider", "kind"],
    registers: [registry],
    async collect() {
      await Promise.all(
        [...providers.values()].map(async (p) => {
          if (!p.totalLag) return;
          try {
            this.set({ provider: p.id, kind: p.kind }, await p.totalLag());
          } catch {
            // A broker that cannot answer now has no lag figure; the up gauge says why.
          }
        }),
      );
    },
  });

  new Gauge({
    name: "streamgate_subgraph_requests_total",
    help: "HTTP requests sent to ordinary subgraphs.",
    labelNames: ["subgraph", "outcome"],
    registers: [registry],
    collect() {
      for (const [name, s] of engine.subgraphs.stats) {
        this.set({ subgraph: name, outcome: "sent" }, s.requests);
        this.set({ subgraph: name, outcome: "failed" }, s.failures);
      }
    },
  });

  const deliveryLatency = new Histogram({
    name: "streamgate_delivery_latency_seconds",
    help: "From a broker event reaching its trigger to its bytes being handed to every socket of a group.",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, deliveryLatency };
}
