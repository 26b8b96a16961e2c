/**
 * Per-consumer broker lag in /metrics: JetStream durables (pending, ack pending, redelivered) and
 * Kafka partitions (records behind the high watermark), from Provider.consumerLag(). Read at
 * scrape time: the gauges of one scrape share one round of JetStream consumer-info requests.
 */
import { Gauge, type Registry } from "prom-client";
import type { ConsumerLag, Provider } from "../providers/provider.js";

type Snapshot = readonly { readonly provider: Provider; readonly lag: readonly ConsumerLag[] }[];

/** Gauges of one scrape ask the brokers once: a snapshot is reused for this long (ms). */
const SNAPSHOT_MS = 1000;

export function registerBrokerLag(registry: Registry, providers: ReadonlyMap<string, Provider>): void {
  let last: { at: number; snapshot: Promise<Snapshot> } | undefined;
  const snapshot = (): Promise<Snapshot> => {
    if (last && Date.now() - last.at < SNAPSHOT_MS) return last.snapshot;
    const taken = Promise.all(
      [...providers.values()].map(async (provider) => ({
        provider,
        // A broker that cannot answer now has no figures; streamgate_provider_up says why.
        lag: provider.consumerLag ? await provider.consumerLag().catch(() => []) : [],
      })),
    );
    last = { at: Date.now(), snapshot: taken };
    return taken;
  };
  const gauge = (
    name: string,
    help: string,
    kind: Provider["kind"],
    labels: readonly [string, string],
    pick: (l: ConsumerLag) => number | undefined,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: ["provider", ...labels],
      registers: [registry],
      async collect() {
        // Consumers that went away (unsubscribed, partitions released) must not linger.
        this.reset();
        for (const { provider, lag } of await snapshot()) {
          if (provider.kind !== kind) continue;
          for (const l of lag) {
            const value = pick(l);
            if (value === undefined) continue;
            this.set({ provider: provider.id, [labels[0]]: l.source, [labels[1]]: l.consumer }, value);
          }
        }
      },
    });
  };
  const durable = ["stream", "consumer"] as const;
  gauge(
    "streamgate_jetstream_consumer_pending",
    "Messages in the stream not yet delivered to this router's durable consumer.",
    "nats",
    durable,
    (l) => l.pending,
  );
  gauge(
    "streamgate_jetstream_consumer_ack_pending",
    "Messages delivered to this router's durable consumer and not acknowledged yet.",
    "nats",
    durable,
    (l) => l.ackPending,
  );
  gauge(
    "streamgate_jetstream_consumer_redelivered",
    "Messages the server delivered more than once to this router's durable consumer.",
    "nats",
    durable,
    (l) => l.redelivered,
  );
  gauge(
    "streamgate_kafka_consumer_lag",
    "Records between this router's read position and the partition's high watermark.",
    "kafka",
    ["topic", "partition"],
    (l) => l.pending,
  );
}
