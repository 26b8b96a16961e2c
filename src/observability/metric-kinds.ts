/** Prometheus metric shapes read from counters kept elsewhere, at scrape time only. */
import { Counter, Gauge, type Registry } from "prom-client";

/** Gauge whose value is computed at scrape time. */
export function live(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * Counter mirrored from monotonic numbers kept elsewhere, per label set: at each scrape it is
 * increased by what the source grew since the last one, so Prometheus sees a true counter.
 */
export function mirrored<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<readonly [Partial<Record<L, string>>, number]>,
): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, now] of read()) {
        const key = JSON.stringify(labels);
        const before = last.get(key) ?? 0;
        // inc(0) on the first scrape makes the series exist before anything happened.
        this.inc(labels, now > before ? now - before : 0);
        last.set(key, Math.max(now, before));
      }
    },
  });
}

/** An unlabelled mirrored counter. */
export function total(registry: Registry, name: string, help: string, read: () => number): void {
  mirrored(registry, name, help, [], () => [[{}, read()]]);
}
