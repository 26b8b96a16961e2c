/**
 * Readiness: schema loaded, every provider connected and none lagging past its `health.max_lag`;
 * the body names those that are down or lagging.
 */
import type { Provider } from "../providers/provider.js";

export interface Readiness {
  readonly ready: boolean;
  readonly body: string;
}

export function readiness(
  schemaLoaded: boolean,
  providers: Iterable<Provider>,
  draining: boolean,
): Readiness {
  const health = [...providers].map((p) => p.health());
  const down = health
    .filter((h) => !h.connected)
    .map((h) => ({ id: h.id, kind: h.kind, detail: h.detail ?? "not connected" }));
  const lagging = health
    .filter((h) => h.connected && h.lagging)
    .map((h) => ({ id: h.id, kind: h.kind, lag: h.lag, max_lag: h.maxLag }));
  const ready = schemaLoaded && down.length === 0 && lagging.length === 0 && !draining;
  return {
    ready,
    body: JSON.stringify({
      status: ready ? "ready" : "not ready",
      schema: schemaLoaded,
      draining,
      providers_down: down,
      providers_lagging: lagging,
    }),
  };
}
