/** Helpers shared by scenario bodies. */
import { cpuWindow } from "../lib/sys.mjs";
import { percentileOf } from "../lib/generator.mjs";
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

/**
 * Cursor check (issue 11): on an at-least-once stack every measured delivery carries
 * extensions.cursor; on any other none does; a run without resumes has no gap.
 */
export function checkCursors(ctx, stats, label) {
  const failures = [];
  const delivered = stats.received + stats.slowReceived;
  if (ctx.cursors && stats.cursors !== delivered)
    failures.push(
      `${label}: ${delivered - stats.cursors} of ${delivered} deliveries without extensions.cursor`,
    );
  if (!ctx.cursors && stats.cursors > 0)
    failures.push(`${label}: ${stats.cursors} deliveries carried a cursor on an at-most-once stack`);
  if (stats.gaps > 0) failures.push(`${label}: ${stats.gaps} frames with extensions.gap`);
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
    cursors: stats.cursors,
  };
}

/**
 * Series from Streamgate's /metrics, summed over labels (null when the series is absent or the
 * endpoint does not answer).
 */
export async function readMetrics(port, names) {
  let text = "";
  try {
    text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch {
    return Object.fromEntries(names.map((n) => [n, null]));
  }
  const out = {};
  for (const name of names) {
    const re = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm");
    let sum = null;
    for (const m of text.matchAll(re)) sum = (sum ?? 0) + Number(m[1]);
    out[name] = sum;
  }
  return out;
}

/** p50/p90/p99/max of a list of numbers (ms), rounded; null when empty. */
export function percentiles(values) {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const at = (p) => round1(percentileOf(v, p));
  return { count: v.length, p50: at(50), p90: at(90), p99: at(99), max: round1(v[v.length - 1]) };
}
