/**
 * The start-up steps a reload repeats: schemas composed and checked against the configured
 * providers, and providers started (in the background where the config allows).
 */
import type { Config } from "./config/types.js";
import { ErrorCode, errorMessage, StreamgateAggregateError } from "./errors.js";
import type { Logger } from "./observability/logger.js";
import type { ManagedProvider } from "./providers/factory.js";
import type { ProviderKind } from "./providers/provider.js";
import { loadSupergraph, type Supergraph } from "./schema/supergraph.js";

/** Configured provider ids and their kinds, for schema checks. */
export function providerKinds(events: Config["events"]): Map<string, ProviderKind> {
  const kinds = new Map<string, ProviderKind>();
  for (const n of events.providers.nats) kinds.set(n.id, "nats");
  for (const k of events.providers.kafka) kinds.set(k.id, "kafka");
  for (const r of events.providers.redis) kinds.set(r.id, "redis");
  return kinds;
}

/** Loads the supergraph with every providerId checked against the config. */
export function loadRouterSupergraph(config: Config): Promise<Supergraph> {
  return loadSupergraph(config.subgraphs, {
    providers: providerKinds(config.events),
    skipUnknownProviders: config.events.skip_unavailable_providers,
  });
}

export async function startProviders(
  config: Config,
  providers: ReadonlyMap<string, ManagedProvider>,
  logger: Logger,
): Promise<void> {
  const failures: string[] = [];
  await Promise.all(
    [...providers.values()].map(async (p) => {
      try {
        await p.start();
        logger.info({ providerId: p.id, kind: p.kind }, "provider connected");
      } catch (err) {
        if (config.events.skip_unavailable_providers) {
          logger.warn(
            { providerId: p.id, err: errorMessage(err) },
            "provider unavailable; retrying in the background",
          );
          void p.startInBackground();
        } else failures.push(`provider ${p.id} (${p.kind}): ${errorMessage(err)}`);
      }
    }),
  );
  if (failures.length > 0) {
    await Promise.all([...providers.values()].map((p) => p.stop().catch(() => {})));
    throw new StreamgateAggregateError(
      ErrorCode.PROVIDER_UNAVAILABLE,
      "providers unavailable (set events.skip_unavailable_providers to start anyway)",
      failures,
    );
  }
}
