/**
 * One full GC when a burst of connections has settled. V8 collects when allocation demands it; an
 * idle router allocates almost nothing, so the garbage a burst of 10k connects promoted to old
 * space (upgrade headers, parsed subscribe messages) stays resident until something else runs:
 * the same 10k idle clients measured 124 MB or 95 MB RSS depending on whether a major GC happened
 * to run before the hold ended (bench/results/latest-idle.json, 2026-11-22 19:10). This checks a
 * counter every few seconds (no work when nothing changes) and collects once after the number of
 * connections moved by `burst` or more and then stayed quiet for a whole period.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface HeapTrimOptions {
  /** Connections opened or closed (net) that count as a burst. */
  readonly burst: number;
  /** How often the counter is looked at, ms; a burst must be followed by one quiet period. */
  readonly periodMs: number;
  /** Below this change per period the router counts as quiet. */
  readonly quiet: number;
  /** Trims once right away (after start-up). */
  readonly atStart: boolean;
}

/** Past V8's 5 s allocation-throughput window (GCTracer's kThroughputTimeFrameMs). */
const SECOND_GC_DELAY_MS = 6000;

const DEFAULTS: HeapTrimOptions = { burst: 1000, periodMs: 5000, quiet: 50, atStart: false };

let gcFunction: (() => void) | null | undefined;

/** A full-GC function without `--expose-gc` on the command line (a fresh context gets `gc`). */
function fullGc(): (() => void) | undefined {
  if (gcFunction === undefined) gcFunction = exposeGc() ?? null;
  return gcFunction ?? undefined;
}

function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Decides, from successive readings of a counter, when a burst has settled (pure, testable). */
export class BurstWatch {
  private last: number | undefined;
  private moved = 0;

  constructor(private readonly opts: Pick<HeapTrimOptions, "burst" | "quiet">) {}

  /** Feeds a reading; true once per settled burst. */
  settled(value: number): boolean {
    const delta = this.last === undefined ? 0 : Math.abs(value - this.last);
    this.last = value;
    if (delta >= this.opts.quiet) {
      this.moved += delta;
      return false;
    }
    if (this.moved < this.opts.burst) {
      this.moved = 0;
      return false;
    }
    this.moved = 0;
    return true;
  }
}

/** What one trim did, for the log. */
export interface TrimReport {
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
  readonly ms: number;
}

/** Starts the watch over `read()`; returns a stop function. Does nothing if GC is unavailable. */
export function startHeapTrim(
  read: () => number,
  onTrim: (r: TrimReport) => void,
  options: Partial<HeapTrimOptions> = {},
): () => void {
  const opts = { ...DEFAULTS, ...options };
  const gc = fullGc();
  if (!gc) return () => {};
  const watch = new BurstWatch(opts);
  // The first reading is the baseline: a burst before the first period must still count.
  watch.settled(read());
  const timer = setInterval(() => {
    if (watch.settled(read())) trim(gc, onTrim);
  }, opts.periodMs);
  timer.unref();
  // Start-up is a burst too: loading the config, composing and planning grow V8's new space to
  // 16 MB, which an idle router would otherwise keep for good (empty router 87 -> 72 MB RSS here).
  if (opts.atStart) trim(gc, onTrim);
  return () => clearInterval(timer);
}

/**
 * The process's RSS, or NaN when it cannot be read. Node reads /proc/self/stat for it, which
 * fails with EMFILE when every file descriptor is taken (a router holding as many clients as its
 * open-file limit allows), and a throw from this timer would end the process: found by
 * `npm run bench -- ceiling`, where the router exited at its descriptor limit.
 */
export function residentBytes(read: () => number = process.memoryUsage.rss): number {
  try {
    return read();
  } catch {
    return Number.NaN;
  }
}

/**
 * Trims once now, outside any burst watch: for the young-generation guard when an event flow
 * ends (V8 grew new space for it and would keep it). False when GC is unavailable.
 */
export function trimHeapNow(onTrim: (r: TrimReport) => void): boolean {
  const gc = fullGc();
  if (!gc) return false;
  trim(gc, onTrim);
  return true;
}

/** One full GC now and another once V8's throughput window has passed (see below). */
function trim(gc: () => void, onTrim: (r: TrimReport) => void): void {
  const mb = (n: number): number => Math.round(n / 1e5) / 10;
  const before = residentBytes();
  const t0 = performance.now();
  gc();
  const first = performance.now() - t0;
  // V8 gives new space back (33 MB after a burst) at a full GC only when the allocation rate it
  // measured over the last 5 s is low but not zero (Heap::ReduceNewSpaceSize). Right after a
  // burst that window still holds the burst's rate, and total silence reads as 0. So a second
  // GC once the window has passed, with a little allocation before it (measured below).
  setTimeout(() => {
    const junk = Array.from({ length: 2048 }, (_, i) => ({ i }));
    const t1 = performance.now();
    gc();
    onTrim({
      rssBeforeMb: mb(before),
      rssAfterMb: mb(residentBytes()),
      ms: Math.round(first + performance.now() - t1),
    });
    return junk.length;
  }, SECOND_GC_DELAY_MS).unref();
}
