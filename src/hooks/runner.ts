/**
 * Calling one hook of one module: a concurrency bound (calls past it wait in line), a timeout
 * that covers the wait and the call and aborts `ctx.signal`, and counters the metrics read at
 * scrape time. A call that times out gives its slot back at once: the bound is on the calls the
 * router waits for, so a hook that hangs cannot hold the line for the calls behind it longer
 * than its timeout. Nothing here knows what a hook does.
 */
import type { HookName } from "./types.js";

/** How a call failed: it threw (or rejected), it ran past its timeout, or its result was refused. */
export type HookFailureKind = "error" | "timeout" | "invalid";

/** A failed hook call. `cause` is what the hook threw (error) or why its result was refused. */
export class HookFailure extends Error {
  constructor(
    readonly kind: HookFailureKind,
    readonly hook: HookName,
    readonly module: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HookFailure";
  }
}

/** Counters of one (module, hook), read by /metrics. */
export interface HookCallStats {
  readonly module: string;
  readonly hook: HookName;
  calls: number;
  errors: number;
  timeouts: number;
  invalid: number;
  /** Seconds spent in calls (waiting in line excluded), summed. */
  seconds: number;
  inFlight: number;
  waiting: number;
  /** Events a receive or deliver hook dropped (on purpose, or by the skip policy). */
  dropped: number;
}

export interface HookLimits {
  readonly timeoutMs: number;
  readonly maxConcurrency: number;
}

type Fn = (ctx: never) => unknown;

export class HookCaller {
  readonly stats: HookCallStats;
  private running = 0;
  private readonly line: (() => void)[] = [];
  private head = 0;

  constructor(
    readonly module: string,
    readonly hook: HookName,
    private readonly fn: Fn,
    private readonly limits: HookLimits,
  ) {
    this.stats = {
      module,
      hook,
      calls: 0,
      errors: 0,
      timeouts: 0,
      invalid: 0,
      seconds: 0,
      inFlight: 0,
      waiting: 0,
      dropped: 0,
    };
  }

  /**
   * Calls the hook with the context `build(signal)` makes once a slot is free. Resolves with what
   * the hook returned; rejects with a HookFailure (error or timeout). Never throws synchronously.
   */
  call(build: (signal: AbortSignal) => unknown): Promise<unknown> {
    const stats = this.stats;
    stats.calls++;
    const abort = new AbortController();
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      let holding = false;
      let started = 0;
      const finish = (): void => {
        settled = true;
        clearTimeout(timer);
        if (holding) {
          holding = false;
          stats.inFlight--;
          stats.seconds += (performance.now() - started) / 1000;
          this.release();
        }
      };
      const timer = setTimeout(() => {
        if (settled) return;
        finish();
        stats.timeouts++;
        const failure = new HookFailure(
          "timeout",
          this.hook,
          this.module,
          `${this.hook} of ${this.module} did not settle within ${this.limits.timeoutMs} ms`,
        );
        abort.abort(failure);
        reject(failure);
      }, this.limits.timeoutMs);
      this.acquire(() => {
        if (settled) {
          this.release();
          return;
        }
        holding = true;
        stats.inFlight++;
        started = performance.now();
        let out: unknown;
        try {
          out = this.fn(build(abort.signal) as never);
        } catch (err) {
          finish();
          reject(this.failed(err));
          return;
        }
        Promise.resolve(out).then(
          (value) => {
            if (settled) return;
            finish();
            resolve(value);
          },
          (err: unknown) => {
            if (settled) return;
            finish();
            reject(this.failed(err));
          },
        );
      });
    });
  }

  /** The hook returned something its contract does not allow: counted, and the failure to report. */
  refused(reason: string): HookFailure {
    this.stats.invalid++;
    return new HookFailure(
      "invalid",
      this.hook,
      this.module,
      `${this.hook} of ${this.module} returned an invalid result: ${reason}`,
    );
  }

  private failed(err: unknown): HookFailure {
    this.stats.errors++;
    const text = err instanceof Error ? err.message : String(err);
    return new HookFailure("error", this.hook, this.module, `${this.hook} of ${this.module} threw: ${text}`, {
      cause: err,
    });
  }

  private acquire(run: () => void): void {
    if (this.running < this.limits.maxConcurrency) {
      this.running++;
      run();
      return;
    }
    this.stats.waiting++;
    this.line.push(run);
  }

  /** A slot is free: the next in line takes it (it may find its own timeout already passed). */
  private release(): void {
    if (this.head < this.line.length) {
      const next = this.line[this.head]!;
      this.line[this.head++] = noop;
      if (this.head > 1024 && this.head * 2 > this.line.length) {
        this.line.splice(0, this.head);
        this.head = 0;
      }
      this.stats.waiting--;
      next();
      return;
    }
    this.running--;
  }
}

const noop = (): void => {};
