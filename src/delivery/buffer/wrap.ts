/**
 * Puts the session buffer in front of the providers that need it (src/providers/factory.ts calls
 * this when `delivery.session_buffer` is set): each at-least-once NATS or Redis provider on a real
 * broker. JetStream subscriptions of a wrapped NATS provider pass through untouched.
 */
import { randomBytes } from "node:crypto";
import { threadId } from "node:worker_threads";
import type { DeliveryConfig, RedisProviderConfig } from "../../config/types.js";
import { ErrorCode, StreamgateError } from "../../errors.js";
import type { Logger } from "../../observability/logger.js";
import { BufferedProvider, type StartableProvider } from "./provider.js";

/**
 * Replaces, in `providers`, each provider named in `ids` by a {@link BufferedProvider} over it,
 * with its logs on the redis provider `store`.
 */
export function withSessionBuffer<P extends StartableProvider>(
  providers: Map<string, P | BufferedProvider>,
  ids: readonly string[],
  store: RedisProviderConfig,
  buffer: NonNullable<DeliveryConfig["session_buffer"]>,
  instanceId: string,
  logger: Logger,
): void {
  if (store.urls.length === 1 && store.urls[0] === "memory://") {
    throw new StreamgateError(
      ErrorCode.CONFIG_INVALID,
      `delivery.session_buffer.provider_id: redis provider "${store.id}" is the embedded memory:// broker; the session buffer needs a Redis server`,
    );
  }
  // Unique per process and worker thread: leases and interest are per running router, and two
  // workers of one instance must never both think they hold a lease.
  const me = `${instanceId}:${process.pid}:${threadId}:${randomBytes(4).toString("hex")}`;
  for (const id of ids) {
    const inner = providers.get(id);
    if (!inner || inner instanceof BufferedProvider) continue;
    providers.set(
      id,
      new BufferedProvider(
        inner,
        store,
        {
          maxEvents: buffer.max_events,
          ttlMs: buffer.ttl,
          leaseMs: buffer.lease,
          me,
          storeId: store.id,
        },
        logger,
      ),
    );
  }
}
