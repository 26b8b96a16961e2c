import { Gauge, type Registry } from "prom-client";
import type { HookCallStats } from "../hooks/runner.js";
import { mirrored } from "./metric-kinds.js";

/** Stream hooks (docs/hooks.md): calls, failures by kind, time, drops, per module and hook. */
export function registerHookMetrics(registry: Registry, hooks: () => readonly HookCallStats[]): void {
  const per = (pick: (s: HookCallStats) => number) => () =>
    hooks().map((s) => [{ module: s.module, hook: s.hook }, pick(s)] as const);
  const labels = ["module", "hook"] as const;
  mirrored(
    registry,
    "streamgate_hook_calls_total",
    "Stream hook calls.",
    labels,
    per((s) => s.calls),
  );
  mirrored(
    registry,
    "streamgate_hook_failures_total",
    "Stream hook calls that failed, by kind: error (threw), timeout (past its timeout), invalid (returned what its contract does not allow).",
    ["module", "hook", "kind"],
    function* () {
      for (const s of hooks()) {
        yield [{ module: s.module, hook: s.hook, kind: "error" }, s.errors] as const;
        yield [{ module: s.module, hook: s.hook, kind: "timeout" }, s.timeouts] as const;
        yield [{ module: s.module, hook: s.hook, kind: "invalid" }, s.invalid] as const;
      }
    },
  );
  mirrored(
    registry,
    "streamgate_hook_seconds_total",
    "Seconds spent in stream hook calls (not counting the wait for a concurrency slot).",
    labels,
    per((s) => s.seconds),
  );
  mirrored(
    registry,
    "streamgate_hook_events_dropped_total",
    "Events an onReceiveEvents or onDeliver hook dropped, on purpose or by the skip failure policy (onDeliver: per group).",
    labels,
    per((s) => s.dropped),
  );
  for (const [name, help, pick] of [
    ["streamgate_hook_in_flight", "Stream hook calls running now.", (s: HookCallStats) => s.inFlight],
    [
      "streamgate_hook_waiting",
      "Stream hook calls waiting for a concurrency slot.",
      (s: HookCallStats) => s.waiting,
    ],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      collect() {
        for (const s of hooks()) this.set({ module: s.module, hook: s.hook }, pick(s));
      },
    });
  }
}
