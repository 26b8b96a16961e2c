/**
 * Prometheus metrics (prom-client). Almost everything is read at scrape time from counters the
 * components already keep, so the hot path pays nothing for metrics; the one histogram (event to
 * socket latency) is observed once per resolution group per event, not per client. Components are
 * read through their snapshots (`EngineStats`, `WsStats`), never through their internals.
 */
import { Gauge, Histogram, Registry } from "prom-client";
import { isSessionBuffered, type SessionBufferStats } from "../delivery/buffer/stats.js";
import type { EngineStats } from "../engine/engine.js";
import type { Provider } from "../providers/provider.js";
import type { DeliveryStats } from "../delivery/service.js";
import type { SecurityStats } from "../security/security.js";
import type { LimitName } from "../security/limits.js";
import type { WsStats } from "../transport/websocket.js";
import { registerBrokerLag } from "./broker-lag.js";
import { live, mirrored, total } from "./metric-kinds.js";
import { registerHookMetrics } from "./metrics-hooks.js";
import type { HookCallStats } from "../hooks/runner.js";

export interface MetricsSources {
  /** The engine's snapshot; called at scrape time only. */
  readonly engine: () => EngineStats;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly ws: () => WsStats;
  readonly security: SecurityStats;
  /** At-least-once delivery counters; absent in tests that do not need them. */
  readonly delivery?: DeliveryStats;
  /** Refusals per limit (src/security/limits.ts); called at scrape time only. */
  readonly limits: () => ReadonlyMap<LimitName, number>;
  /** Stream hooks' counters per (module, hook); absent without hook modules. */
  readonly hooks?: () => readonly HookCallStats[];
}

export function createMetrics(src: MetricsSources): { registry: Registry; deliveryLatency: Histogram } {
  const registry = new Registry();
  const { providers, engine } = src;
  // The sockets' stats exist only once the app is mounted: read them at scrape time.
  const ws = src.ws;

  live(registry, "streamgate_connections", "Open WebSocket connections.", () => ws().connections);
  live(registry, "streamgate_subscriptions", "Active client subscriptions.", () => engine().subscriptions);
  live(
    registry,
    "streamgate_triggers",
    "Distinct (provider, topics) event sources.",
    () => engine().triggers,
  );
  live(
    registry,
    "streamgate_resolution_groups",
    "Distinct (trigger, operation, variables) groups.",
    () => engine().groups,
  );
  live(
    registry,
    "streamgate_broker_subscriptions",
    "Broker subscriptions held (one per provider and topic).",
    () => engine().brokerSubscriptions,
  );
  live(
    registry,
    "streamgate_operation_plans_cached",
    "Operation plans in the LRU cache.",
    () => engine().cachedPlans,
  );
  total(
    registry,
    "streamgate_events_received_total",
    "Broker events received by triggers.",
    () => engine().eventsReceived,
  );
  total(
    registry,
    "streamgate_events_invalid_total",
    "Broker events that were not JSON objects.",
    () => engine().eventsInvalid,
  );
  mirrored(
    registry,
    "streamgate_events_skipped_total",
    "Broker events a resolution group skipped, by reason (once per group per event): undecodable, not_object, no_typename, unknown_typename, missing_key (invalid: the subscribers get an error), filtered (the subscription filter did not match), hook (an onDeliver stream hook dropped it, or failed with failure_policy skip).",
    ["reason"],
    () => [...engine().eventsSkipped].map(([reason, n]) => [{ reason }, n] as const),
  );
  mirrored(
    registry,
    "streamgate_limit_refusals_total",
    "Client requests refused by a limit, by the limit's config key (limits.*) or max_url_length / max_header_size (414 / 431).",
    ["limit"],
    () => [...src.limits()].map(([limit, n]) => [{ limit }, n] as const),
  );
  total(
    registry,
    "streamgate_resolutions_total",
    "Event resolutions (one per group per event).",
    () => engine().resolutions,
  );
  total(
    registry,
    "streamgate_deliveries_total",
    "Messages handed to client sockets.",
    () => engine().deliveries,
  );
  total(
    registry,
    "streamgate_messages_dropped_total",
    "Messages dropped for slow clients (policy drop).",
    () => ws().dropped,
  );
  total(
    registry,
    "streamgate_slow_clients_closed_total",
    "Clients closed for being too slow (policy close).",
    () => ws().slowClosed,
  );
  total(
    registry,
    "streamgate_connections_lost_total",
    "WebSocket connections that ended without a close frame (1006): the client vanished, the TCP connection reset, or no pong within the idle timeout.",
    () => ws().lost,
  );
  live(
    registry,
    "streamgate_send_buffered_bytes",
    "Bytes WebSockets hold in user space for clients that are behind (bounded by limits.max_total_backpressure).",
    () => ws().bufferedBytes,
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
  const dl = src.delivery;
  if (dl) {
    total(
      registry,
      "streamgate_delivery_resumes_total",
      "Subscriptions resumed from a cursor.",
      () => dl.resumes,
    );
    total(
      registry,
      "streamgate_delivery_replay_reads_total",
      "Broker reads for resumes (clients resuming the same trigger from the same cursor share one).",
      () => dl.replayReads,
    );
    total(
      registry,
      "streamgate_delivery_replayed_events_total",
      "Events replayed from a broker or buffer to resumed subscriptions.",
      () => dl.replayedEvents,
    );
    total(
      registry,
      "streamgate_delivery_gaps_total",
      "Resumes that could not replay everything (retention, a failed or timed-out replay, no replay).",
      () => dl.gaps,
    );
    total(
      registry,
      "streamgate_delivery_cursors_refused_total",
      "Resume cursors refused (CURSOR_INVALID).",
      () => dl.cursorsRefused,
    );
  }
  const sec = src.security;
  mirrored(
    registry,
    "streamgate_auth_refused_total",
    "Tokens refused (invalid, or missing where required), by where they came from.",
    ["source"],
    () => Object.entries(sec.refused).map(([source, n]) => [{ source }, n] as const),
  );
  total(
    registry,
    "streamgate_tokens_expired_total",
    "Connections and streams ended because their token expired.",
    () => sec.tokensExpired,
  );
  total(
    registry,
    "streamgate_tokens_refreshed_total",
    "Tokens replaced by a fresh one over a ping.",
    () => sec.tokensRefreshed,
  );
  mirrored(registry, "streamgate_rate_limited_total", "Operations refused by a rate limit.", ["kind"], () =>
    Object.entries(sec.rateLimited).map(([kind, n]) => [{ kind }, n] as const),
  );
  total(
    registry,
    "streamgate_unauthorized_total",
    "Operations refused by @authenticated or @requiresScopes.",
    () => sec.denied,
  );

  const providerTotal = (name: string, help: string, pick: (p: Provider) => number): void =>
    mirrored(registry, name, help, ["provider", "kind"], () =>
      [...providers.values()].map((p) => [{ provider: p.id, kind: p.kind }, pick(p)] as const),
    );
  providerTotal(
    "streamgate_provider_received_total",
    "Messages received from the broker.",
    (p) => p.health().counters.received,
  );
  providerTotal(
    "streamgate_provider_published_total",
    "Messages published to the broker.",
    (p) => p.health().counters.published,
  );
  providerTotal("streamgate_provider_errors_total", "Provider errors.", (p) => p.health().counters.errors);
  providerTotal(
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

  registerBrokerLag(registry, providers);

  // The session buffer of at-least-once NATS core / Redis pub/sub providers (docs/delivery.md).
  const buffers = (): [Provider, SessionBufferStats][] =>
    [...providers.values()].flatMap((p) => (isSessionBuffered(p) ? [[p, p.sessionBuffer()] as const] : []));
  const bufferTotal = (name: string, help: string, pick: (s: SessionBufferStats) => number): void =>
    mirrored(registry, name, help, ["provider"], () =>
      buffers().map(([p, s]) => [{ provider: p.id }, pick(s)] as const),
    );
  new Gauge({
    name: "streamgate_session_buffer_available",
    help: "1 when the provider's session buffer (Redis) answers on every worker thread; 0: subscriptions are at most once.",
    labelNames: ["provider"],
    registers: [registry],
    aggregator: "min",
    collect() {
      for (const [p, s] of buffers()) this.set({ provider: p.id }, s.available ? 1 : 0);
    },
  });
  new Gauge({
    name: "streamgate_session_buffer_logs",
    help: "Session buffer logs this instance holds (role held: read for local clients or written; writer: this instance appends).",
    labelNames: ["provider", "role"],
    registers: [registry],
    collect() {
      for (const [p, s] of buffers()) {
        this.set({ provider: p.id, role: "held" }, s.logs);
        this.set({ provider: p.id, role: "writer" }, s.writing);
      }
    },
  });
  bufferTotal(
    "streamgate_session_buffer_unavailable_total",
    "Times the session buffer became unavailable.",
    (s) => s.unavailable,
  );
  bufferTotal(
    "streamgate_session_buffer_at_most_once_total",
    "Subscriptions that started or went on at most once because the session buffer was unavailable.",
    (s) => s.atMostOnce,
  );
  bufferTotal(
    "streamgate_session_buffer_appended_total",
    "Events appended to session buffer logs by this instance.",
    (s) => s.appended,
  );
  bufferTotal(
    "streamgate_session_buffer_gaps_total",
    "Gap markers appended: a writer took a log over, or could not append for a while.",
    (s) => s.gapMarkers,
  );
  bufferTotal(
    "streamgate_session_buffer_dropped_total",
    "Broker events a log's writer could not append.",
    (s) => s.dropped,
  );
  bufferTotal(
    "streamgate_session_buffer_high_water_total",
    "Logs that reached 80% of max_events (clients away longer than that get a gap).",
    (s) => s.highWater,
  );
  bufferTotal(
    "streamgate_session_buffer_invalid_entries_total",
    "Log entries the buffer did not write (foreign ids or fields), skipped.",
    (s) => s.invalidEntries,
  );

  mirrored(
    registry,
    "streamgate_subgraph_requests_total",
    "HTTP requests sent to ordinary subgraphs.",
    ["subgraph", "outcome"],
    function* () {
      for (const [name, s] of engine().subgraphs) {
        yield [{ subgraph: name, outcome: "sent" }, s.requests] as const;
        yield [{ subgraph: name, outcome: "failed" }, s.failures] as const;
      }
    },
  );

  if (src.hooks) registerHookMetrics(registry, src.hooks);

  const deliveryLatency = new Histogram({
    name: "streamgate_delivery_latency_seconds",
    help: "From a broker event reaching its trigger to its bytes being handed to every socket of a group.",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, deliveryLatency };
}
