/**
 * Reload without dropping clients (contract.md, "Reload"): a new config and its schemas are loaded
 * and checked in full first, so an invalid one changes nothing; then only providers whose
 * settings changed are replaced (new ones started before the old ones stop), and the engine swaps
 * to the new supergraph, ending only the subscriptions the new one no longer serves, with
 * SCHEMA_RELOADED. Everything else about a connection stays as it was.
 *
 * Reloaded: `subgraphs` (and their schema files) and `events.providers`. Every other key takes
 * effect at the next restart; a reload that changes one says so in the log.
 */
import type { Config } from "./config/types.js";
import type { Delivery } from "./delivery/service.js";
import type { Engine, ReloadReport } from "./engine/engine.js";
import type { Logger } from "./observability/logger.js";
import { createProviders, type ManagedProvider } from "./providers/factory.js";
import { loadRouterSupergraph, startProviders } from "./startup.js";

/** Keys a reload applies; the rest need a restart. */
const RELOADED = new Set(["subgraphs", "events", "source"]);

export interface ReloadTarget {
  readonly engine: Engine;
  /** The router's provider map (the engine looks providers up in it). */
  readonly providers: Map<string, ManagedProvider>;
  readonly delivery: Delivery;
  readonly logger: Logger;
  readonly instanceId: string;
}

export interface ReloadOutcome extends ReloadReport {
  readonly providersReplaced: readonly string[];
  /** Top-level keys that differ but need a restart. */
  readonly restartOnly: readonly string[];
}

/** Provider configs by id, as JSON, to tell which changed. */
function providerConfigs(config: Config): Map<string, string> {
  const out = new Map<string, string>();
  const { nats, kafka, redis } = config.events.providers;
  for (const [kind, list] of [
    ["nats", nats],
    ["kafka", kafka],
    ["redis", redis],
  ] as const) {
    for (const p of list) out.set(p.id, JSON.stringify([kind, p]));
  }
  return out;
}

/**
 * Applies `next` over `current`. Throws (changing nothing) when `next`'s schemas do not load or a
 * new provider cannot start where the config does not allow that.
 */
export async function reloadRouter(t: ReloadTarget, current: Config, next: Config): Promise<ReloadOutcome> {
  const restartOnly = Object.keys({ ...current, ...next }).filter(
    (k) =>
      !RELOADED.has(k) &&
      JSON.stringify((current as unknown as Record<string, unknown>)[k]) !==
        JSON.stringify((next as unknown as Record<string, unknown>)[k]),
  );
  const supergraph = await loadRouterSupergraph(next);
  const before = providerConfigs(current);
  const after = providerConfigs(next);
  const changed = [...after].filter(([id, json]) => before.get(id) !== json).map(([id]) => id);
  const removed = [...before.keys()].filter((id) => !after.has(id));
  // The new providers first, fully started: if one cannot start, nothing has changed yet.
  // The delivery section needs a restart: replaced providers get the session buffer it set up.
  const all = await createProviders(next.events, t.instanceId, {
    delivery: current.delivery,
    logger: t.logger,
  });
  const fresh = new Map([...all].filter(([id]) => changed.includes(id)));
  for (const [id, p] of all) if (!fresh.has(id)) void p.stop().catch(() => undefined);
  try {
    await startProviders(next, fresh, t.logger);
  } catch (err) {
    await Promise.all([...fresh.values()].map((p) => p.stop().catch(() => undefined)));
    throw err;
  }
  const replaced = new Set([...changed, ...removed]);
  const old = [...replaced].flatMap((id) => {
    const p = t.providers.get(id);
    return p ? [p] : [];
  });
  for (const id of removed) t.providers.delete(id);
  for (const [id, p] of fresh) t.providers.set(id, p);
  t.delivery.reconfigure(next);
  const report = t.engine.reload(supergraph, replaced);
  // Their subscriptions were ended above, which released their broker subscriptions.
  await Promise.all(old.map((p) => p.stop().catch(() => undefined)));
  return { ...report, providersReplaced: [...replaced], restartOnly };
}
