/** Readiness: schema loaded and every provider connected; the body names those that are not. */
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
  const down = [...providers]
    .map((p) => p.health())
    .filter((h) => !h.connected)
    .map((h) => ({ id: h.id, kind: h.kind, detail: h.detail ?? "not connected" }));
  const ready = schemaLoaded && down.length === 0 && !draining;
  return {
    ready,
    body: JSON.stringify({
      status: ready ? "ready" : "not ready",
      schema: schemaLoaded,
      draining,
      providers_down: down,
    }),
  };
}
