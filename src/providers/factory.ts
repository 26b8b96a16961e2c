/**
 * Builds the configured providers: memory:// (embedded) or the real broker client of each kind.
 * Broker clients are imported only for the kinds configured: ioredis, the NATS client and the
 * librdkafka binding each cost megabytes of resident memory a router that does not use them
 * should not pay (profiles/README.md, "Baseline memory").
 */
import type { DeliveryConfig, EventsConfig } from "../config/types.js";
import { ErrorCode, StreamgateAggregateError, StreamgateError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { checkProviderFiles } from "./files.js";
import { MemoryProvider } from "./memory/provider.js";
import type { Provider, ProviderKind } from "./provider.js";

export interface ManagedProvider extends Provider {
  startInBackground(): Promise<void>;
}

export const MEMORY_URL = "memory://";

const isMemory = (urls: readonly string[]): boolean => urls.length === 1 && urls[0] === MEMORY_URL;

/** What the session buffer needs, when `delivery.session_buffer` is configured. */
export interface ProviderContext {
  readonly delivery?: DeliveryConfig;
  /** Where the session buffer reports outages and takeovers. */
  readonly logger?: Logger;
}

/** One provider per configured id and kind. Ids are unique per kind (the config loader checks). */
export async function createProviders(
  events: EventsConfig,
  instanceId: string,
  context: ProviderContext = {},
): Promise<Map<string, ManagedProvider>> {
  const unusable = checkProviderFiles(events);
  if (unusable.length > 0) {
    throw new StreamgateAggregateError(
      ErrorCode.PROVIDER_CREDENTIALS_INVALID,
      "provider TLS or credentials files are unusable",
      unusable.map((p) => `${p.path}: ${p.message}`),
    );
  }
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
  const { nats, kafka, redis } = events.providers;
  const Nats = nats.some((n) => n.url !== MEMORY_URL)
    ? (await import("./nats/provider.js")).NatsProvider
    : undefined;
  const Kafka = kafka.some((k) => !isMemory(k.brokers))
    ? (await import("./kafka/provider.js")).KafkaProvider
    : undefined;
  const Redis = redis.some((r) => !isMemory(r.urls))
    ? (await import("./redis/provider.js")).RedisProvider
    : undefined;
  for (const n of nats) {
    add(
      "nats",
      n.id,
      Nats && n.url !== MEMORY_URL
        ? new Nats(n, { instanceId })
        : new MemoryProvider({ id: n.id, kind: "nats", ...retained(n) }),
    );
  }
  for (const k of kafka) {
    add(
      "kafka",
      k.id,
      Kafka && !isMemory(k.brokers)
        ? new Kafka(k)
        : new MemoryProvider({ id: k.id, kind: "kafka", ...retained(k) }),
    );
  }
  for (const r of redis) {
    add(
      "redis",
      r.id,
      Redis && !isMemory(r.urls)
        ? new Redis(r)
        : new MemoryProvider({ id: r.id, kind: "redis", ...retained(r) }),
    );
  }
  await addSessionBuffer(out, events, instanceId, context);
  return out;
}

/**
 * With `delivery.session_buffer`, at-least-once NATS and Redis providers on real brokers get the
 * buffer in front of them (src/delivery/buffer); loaded only then, as it brings ioredis.
 */
async function addSessionBuffer(
  out: Map<string, ManagedProvider>,
  events: EventsConfig,
  instanceId: string,
  { delivery, logger }: ProviderContext,
): Promise<void> {
  const buffer = delivery?.session_buffer;
  if (!buffer || !logger) return;
  const { nats, redis } = events.providers;
  const ids = [
    ...nats.filter((n) => n.delivery === "at_least_once" && n.url !== MEMORY_URL),
    ...redis.filter((r) => r.delivery === "at_least_once" && !isMemory(r.urls)),
  ].map((p) => p.id);
  const store = redis.find((r) => r.id === buffer.provider_id);
  if (ids.length === 0 || !store) return;
  const { withSessionBuffer } = await import("../delivery/buffer/wrap.js");
  withSessionBuffer(out, ids, store, buffer, instanceId, logger);
}

/** An at-least-once provider on the embedded broker keeps a log to replay from. */
function retained(p: { readonly delivery?: string }): { retain?: number } {
  return p.delivery === "at_least_once" ? { retain: 10_000 } : {};
}
