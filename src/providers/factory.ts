/** Builds the configured providers: memory:// (embedded) or the real broker client of each kind. */
import type { EventsConfig } from "../config/types.js";
import { ErrorCode, StreamgateError } from "../errors.js";
import { KafkaProvider } from "./kafka/provider.js";
import { MemoryProvider } from "./memory/provider.js";
import { NatsProvider } from "./nats/provider.js";
import type { Provider, ProviderKind } from "./provider.js";
import { RedisProvider } from "./redis/provider.js";

export interface ManagedProvider extends Provider {
  startInBackground(): Promise<void>;
}

export const MEMORY_URL = "memory://";

/** One provider per configured id and kind. Ids are unique per kind (the config loader checks). */
export function createProviders(events: EventsConfig, instanceId: string): Map<string, ManagedProvider> {
  const out = new Map<string, ManagedProvider>();
  const add = (kind: ProviderKind, id: string, p: ManagedProvider): void => {
    if (out.has(id)) {
      throw new StreamgateError(
        ErrorCode.CONFIG_INVALID,
        `provider id "${id}" is used by two kinds (${out.get(id)!.kind} and ${kind}); ids must be unique`,
      );
    }
    out.set(id, p);
  };
  for (const n of events.providers.nats) {
    add(
      "nats",
      n.id,
      n.url === MEMORY_URL
        ? new MemoryProvider({ id: n.id, kind: "nats" })
        : new NatsProvider(n, { instanceId }),
    );
  }
  for (const k of events.providers.kafka) {
    const memory = k.brokers.length === 1 && k.brokers[0] === MEMORY_URL;
    add("kafka", k.id, memory ? new MemoryProvider({ id: k.id, kind: "kafka" }) : new KafkaProvider(k));
  }
  for (const r of events.providers.redis) {
    const memory = r.urls.length === 1 && r.urls[0] === MEMORY_URL;
    add("redis", r.id, memory ? new MemoryProvider({ id: r.id, kind: "redis" }) : new RedisProvider(r));
  }
  return out;
}
