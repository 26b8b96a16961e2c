/** Helpers shared by scenario bodies. */
import { cpuWindow } from "../lib/sys.mjs";
import { mb, round1, sleep } from "../lib/harness.mjs";

/**
 * CPU window over the generator: this process and its worker threads only. Its children (the
 * stack under test, the broker) are excluded.
 */
export const generatorCpu = () => cpuWindow([process.pid], { children: false });

/**
 * Waits until `target` healthy deliveries arrived, or no progress for `stallMs`, or `maxMs` passed.
 * Returns the count reached.
 */
export async function drain(gen, target, { stallMs = 3000, maxMs = 120_000, field = "received" } = {}) {
  const t0 = performance.now();
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const c = (await gen.count())[field];
    if (c >= target) return c;
    if (c !== last) {
      last = c;
      lastChange = performance.now();
    }
    if (performance.now() - lastChange > stallMs || performance.now() - t0 > maxMs) return c;
    await sleep(100);
  }
}

/** A failure list entry when generator stats show errors or missing deliveries. */
export function checkStats(stats, label) {
  const failures = [];
  if (stats.errors > 0)
    failures.push(`${label}: ${stats.errors} errors (${stats.errorSamples.slice(0, 3).join("; ")})`);
  if (stats.missingClients > 0) failures.push(`${label}: ${stats.missingClients} clients missed deliveries`);
  if (stats.outOfOrder > 0)
    failures.push(`${label}: ${stats.outOfOrder} out-of-order or duplicate deliveries`);
  return failures;
}

/** The figures every measured phase reports about the stack, the generator and the run. */
export function phaseFigures({ stackCpu, genCpu, opts, coreUse, mem, stats }) {
  return {
    routerCpuPct: round1(stackCpu.percent),
    routerKernelCpuPct: round1(stackCpu.sysPercent),
    routerRunQueueWaitPct: round1(stackCpu.runQueueWaitPercent),
    generatorCpuPct: round1(genCpu.percent),
    generatorSaturated: genCpu.percent > 90 * opts.loadCores,
    coreUse,
    rssMaxMB: mb(mem.maxRss),
    socketMemMaxMB: mb(mem.maxSocketMem),
    errors: stats.errors,
    closes: stats.closes,
  };
}
