/**
 * Keeps V8's young generation small unless events are flowing. V8 doubles its semi-spaces (up to
 * 16 MB each, 32 MB of RSS for the pair) whenever more bytes survived scavenges since the last
 * growth than they hold, and an idle process never gives them back. Start-up (config, composition,
 * planning) grows them to 8 MB and a burst of 10k connects to 16 MB: most of the 40 MB connect
 * peak and 12 MB of the empty router (profiles/per-client.md). What survives a connect is state
 * kept for the connection's life, which a larger young generation only copies once more before
 * promoting; under a sustained event load the larger one does pay (fewer scavenges per delivery:
 * 1 MB semi-spaces cost ~4% of deliveries/s at 700k/s, nothing at 100k/s;
 * bench/results/ab-semi-space), so growth is allowed while deliveries keep running.
 *
 * Mechanism: V8 reads `--semi-space-growth-factor` each time it grows new space, and 1 means
 * "grow to 1×", i.e. stay. Set at run time with v8.setFlagsFromString; on the command line V8
 * raises it to 2 at start-up (measured, Node 20), so it cannot be a node flag. The flag is the
 * process's: with worker threads every isolate follows it.
 */
import { setFlagsFromString } from "node:v8";

export interface YoungGenOptions {
  /** Deliveries per second from which the young generation may grow (V8's own sizing). */
  readonly busyPerSecond: number;
  /** Busy periods in a row before it may grow (a few warm-up events are not a load). */
  readonly busyPeriods: number;
  /** Quiet periods in a row before it is held again. */
  readonly quietPeriods: number;
  /** How often the deliveries counter is read, ms. */
  readonly periodMs: number;
}

/**
 * Any sustained event flow releases it (1 event/s to 10k subscribers is 10k deliveries/s): the
 * hold is for start-up and connection bursts, not for serving events.
 */
const DEFAULTS: YoungGenOptions = { busyPerSecond: 5000, busyPeriods: 3, quietPeriods: 30, periodMs: 1000 };

/** V8's default growth factor: the semi-spaces double. */
const V8_DEFAULT_GROWTH = 2;

function growth(factor: number): void {
  try {
    setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  } catch {
    // No such flag in this V8: its own sizing stays, nothing else changes.
  }
}

/** Stops V8's young generation from growing past its present size (process-wide). */
export function holdYoungGeneration(): void {
  growth(1);
}

/** Gives the young generation's sizing back to V8 (its default doubling). */
export function releaseYoungGeneration(): void {
  growth(V8_DEFAULT_GROWTH);
}

/** Decides from successive readings of the deliveries counter whether growth is allowed (pure). */
export class DeliveryLoad {
  private last: number | undefined;
  /** Periods in a row on the other side of the threshold from `busy`. */
  private run = 0;
  busy = false;

  constructor(
    private readonly opts: Pick<YoungGenOptions, "busyPerSecond" | "busyPeriods" | "quietPeriods">,
  ) {}

  /** Feeds a reading taken `seconds` after the previous one; true when `busy` changed. */
  read(count: number, seconds: number): boolean {
    const rate = this.last === undefined || seconds <= 0 ? 0 : (count - this.last) / seconds;
    this.last = count;
    if (rate >= this.opts.busyPerSecond === this.busy) {
      this.run = 0;
      return false;
    }
    if (++this.run < (this.busy ? this.opts.quietPeriods : this.opts.busyPeriods)) return false;
    this.busy = !this.busy;
    this.run = 0;
    return true;
  }
}

/** The guard of a running router. */
export interface YoungGenGuard {
  /**
   * Starts reading the deliveries counter: growth is allowed while it runs fast. `onQuiet` is
   * called each time a flow has ended and the hold is back: holding stops growth but gives
   * nothing back, so the router trims the heap then (V8 shrinks new space at a full GC).
   */
  watch(deliveries: () => number, onQuiet?: () => void): void;
  /** Stops reading and gives the sizing back to V8. */
  stop(): void;
}

/** Holds the young generation now; {@link YoungGenGuard.watch} lets it grow under event load. */
export function startYoungGenGuard(options: Partial<YoungGenOptions> = {}): YoungGenGuard {
  const opts = { ...DEFAULTS, ...options };
  holdYoungGeneration();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  return {
    watch(deliveries, onQuiet) {
      if (timer || stopped) return;
      const load = new DeliveryLoad(opts);
      let at = performance.now();
      load.read(deliveries(), 0);
      timer = setInterval(() => {
        const now = performance.now();
        if (load.read(deliveries(), (now - at) / 1000)) {
          if (load.busy) releaseYoungGeneration();
          else {
            holdYoungGeneration();
            onQuiet?.();
          }
        }
        at = now;
      }, opts.periodMs);
      timer.unref();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      releaseYoungGeneration();
    },
  };
}
