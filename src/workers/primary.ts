/**
 * The primary of `workers: N | auto` (spec/scale.md): starts one router per worker thread on a
 * shared port (uWS sets SO_REUSEPORT for a non-zero port, so the kernel spreads connections),
 * wires a MessageChannel between every pair of workers, restarts a worker that dies, merges
 * every worker's metrics for /metrics, and coordinates shutdown. It serves nothing itself.
 */
import { createServer } from "node:net";
import { MessageChannel, Worker } from "node:worker_threads";
import { splitAddr } from "../config/listen.js";
import { withoutSource } from "../config/frozen.js";
import type { Config } from "../config/types.js";
import { ErrorCode, errorMessage, StreamgateAggregateError, StreamgateError } from "../errors.js";
import { entryUrl } from "../process/entries.js";
import { composeInChild } from "../schema/compose.js";
import { ComposeShare } from "./compose-share.js";
import { startHeapTrim } from "../observability/heap-trim.js";
import type { Logger } from "../observability/logger.js";
import { clearRegion, createConnectionTable } from "../security/connections.js";
import { workerCount } from "./count.js";
import type { ToPrimary, ToWorker, WorkerData } from "./messages.js";
import { MetricsGather } from "./metrics-gather.js";

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying restarts at once again (not a crash loop). */
const HEALTHY_AFTER_MS = 60_000;

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  ready: boolean;
  startedAt: number;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export interface Primary {
  readonly host: string;
  readonly port: number;
  readonly workers: number;
  /** Asks every worker to drain and stop; resolves when all threads ended. */
  stop(): Promise<void>;
  /** Has every worker apply `next` (its own reload); rejects when one refused. */
  reload(next: Config): Promise<Record<string, unknown>>;
}

/** A free port on `host`: workers need one fixed port to share (port 0 would give each its own). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const addr = s.address();
      s.close(() =>
        typeof addr === "object" && addr
          ? resolve(addr.port)
          : reject(new StreamgateError(ErrorCode.LISTEN_FAILED, "no free port")),
      );
    });
  });
}

/** Starts, wires, restarts and stops the worker threads. */
class Supervisor {
  private readonly slots: Slot[];
  private readonly metrics = new MetricsGather();
  readonly composer = new ComposeShare(composeInChild);
  /** One process-wide count of connections for limits.max_connections(_per_ip). */
  private readonly connections: ReturnType<typeof createConnectionTable>;
  private stopping = false;
  private firstStart: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /** Settles when every worker first reported ready (or one failed to start). */
  readonly started: Promise<void>;

  constructor(
    n: number,
    /** The config every worker runs (listen_addr fixed to the shared port, workers: 1). */
    private shared: Record<string, unknown>,
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly logLevel: string | undefined,
  ) {
    this.slots = Array.from({ length: n }, (_, index) => ({
      index,
      worker: undefined,
      ready: false,
      startedAt: 0,
      backoffMs: RESTART_MIN_MS,
      restartTimer: undefined,
    }));
    this.connections = createConnectionTable(n);
    this.started = new Promise<void>((resolve, reject) => {
      this.firstStart = { resolve, reject };
    });
    this.started.then(
      () => {
        this.firstStart = undefined;
      },
      () => undefined,
    );
    for (const slot of this.slots) this.spawn(slot);
  }

  private send(slot: Slot, m: ToWorker, transfer?: readonly unknown[]): void {
    slot.worker?.postMessage(m, transfer as never);
  }

  private spawn(slot: Slot): void {
    const data: WorkerData = {
      index: slot.index,
      config: this.shared,
      connections: this.connections,
      ...(this.logLevel ? { logLevel: this.logLevel } : {}),
    };
    const worker = new Worker(entryUrl("worker"), { workerData: data });
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = Date.now();
    // Wire the new worker to every other running one.
    for (const other of this.slots) {
      if (other === slot || !other.worker) continue;
      const { port1, port2 } = new MessageChannel();
      this.send(slot, { t: "peer", index: other.index, port: port1 }, [port1]);
      this.send(other, { t: "peer", index: slot.index, port: port2 }, [port2]);
    }
    worker.on("message", (m: ToPrimary) => this.onMessage(slot, m));
    worker.on("error", (err) => this.logger.error({ worker: slot.index, err: err.message }, "worker error"));
    worker.on("exit", (code) => this.onExit(slot, worker, code));
  }

  private onMessage(slot: Slot, m: ToPrimary): void {
    switch (m.t) {
      case "ready":
        slot.ready = true;
        this.logger.info({ worker: slot.index }, "worker ready");
        if (this.slots.every((s) => s.ready)) this.firstStart?.resolve();
        return;
      case "start-failed":
        if (this.firstStart) this.firstStart.reject(new StreamgateError(ErrorCode.LISTEN_FAILED, m.message));
        else this.logger.error({ worker: slot.index, err: m.message }, "worker failed to start");
        return;
      case "metrics-req": {
        const live = this.slots.filter((s) => s.worker && s.ready);
        let i = 0;
        this.metrics.start(
          live.length,
          (key) => this.send(live[i++]!, { t: "metrics-collect", id: key }),
          (text) => this.send(slot, { t: "metrics-text", id: m.id, text }),
        );
        return;
      }
      case "metrics-json":
        this.metrics.answer(m.id, m.json);
        return;
      case "stopped":
        return;
      case "compose":
        this.composer.compose(m.services).then(
          (result) => this.send(slot, { t: "composed", id: m.id, result }),
          (err: unknown) => this.send(slot, { t: "composed", id: m.id, error: errorMessage(err) }),
        );
        return;
      case "reloaded": {
        const wait = this.reloads.get(m.id);
        if (!wait) return;
        if (m.error) wait.errors.push(`worker ${slot.index}: ${m.error}`);
        else wait.outcomes.push(m.outcome);
        if (--wait.left === 0) wait.done();
        return;
      }
    }
  }

  private reloadSeq = 0;
  private readonly reloads = new Map<
    number,
    { left: number; errors: string[]; outcomes: unknown[]; done: () => void }
  >();

  /** Sends `next` to every running worker and waits for each to apply it or refuse. */
  reload(next: Config): Promise<Record<string, unknown>> {
    const id = ++this.reloadSeq;
    const config = { ...withoutSource(next), listen_addr: this.shared.listen_addr, workers: 1 };
    const live = this.slots.filter((s) => s.worker && s.ready);
    return new Promise((resolve, reject) => {
      const wait = {
        left: live.length,
        errors: [] as string[],
        outcomes: [] as unknown[],
        done: () => {
          this.reloads.delete(id);
          if (wait.errors.length > 0)
            reject(new StreamgateAggregateError(ErrorCode.CONFIG_INVALID, "reload refused", wait.errors));
          else resolve({ workers: wait.outcomes });
        },
      };
      this.reloads.set(id, wait);
      if (live.length === 0) wait.done();
      for (const s of live) this.send(s, { t: "reload", id, config });
    });
  }

  private onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    // Its sockets died with it; so do their counts (the replacement starts from zero too).
    clearRegion(this.connections, slot.index);
    slot.worker = undefined;
    const wasReady = slot.ready;
    slot.ready = false;
    if (this.firstStart && !wasReady && !this.stopping) {
      this.firstStart.reject(
        new StreamgateError(
          ErrorCode.WORKER_FAILED,
          `worker ${slot.index} exited with code ${code} while starting`,
        ),
      );
      return;
    }
    for (const other of this.slots) if (other.worker) this.send(other, { t: "peer-gone", index: slot.index });
    if (this.stopping) return;
    const ranFor = Date.now() - slot.startedAt;
    if (ranFor > HEALTHY_AFTER_MS) slot.backoffMs = RESTART_MIN_MS;
    this.logger.error(
      { worker: slot.index, code, restart_in_ms: slot.backoffMs },
      "worker exited; restarting",
    );
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.stopping) this.spawn(slot);
    }, slot.backoffMs);
    slot.backoffMs = Math.min(slot.backoffMs * 2, RESTART_MAX_MS);
  }

  /** Asks every worker to drain and stop; forces them after the grace period. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const s of this.slots) clearTimeout(s.restartTimer);
    const running = this.slots.filter((s) => s.worker);
    const exits = running.map((s) => new Promise<void>((r) => s.worker!.once("exit", () => r())));
    for (const s of running) this.send(s, { t: "shutdown" });
    const all = Promise.all(exits);
    const late = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) =>
        setTimeout(() => r(true), this.config.shutdown_grace_period + 2000).unref(),
      ),
    ]);
    if (late) {
      for (const s of this.slots) if (s.worker) this.send(s, { t: "close-now" });
      await Promise.race([all, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }
}

export async function startPrimary(config: Config, logger: Logger, logLevel?: string): Promise<Primary> {
  const n = workerCount(config.workers);
  const { host, port: configured } = splitAddr(config.listen_addr);
  const port = configured === 0 ? await freePort(host) : configured;
  const shared = {
    ...withoutSource(config),
    listen_addr: `${host.includes(":") ? `[${host}]` : host}:${port}`,
    workers: 1,
  };
  const supervisor = new Supervisor(n, shared, config, logger, logLevel);
  try {
    await supervisor.started;
  } catch (err) {
    await supervisor.stop();
    throw err;
  }
  // Loading and validating the config grew this thread's new space, which an idle primary would
  // keep: trimmed once, as each worker does after its own start-up (src/observability/heap-trim.ts).
  const stopTrim = startHeapTrim(
    () => 0,
    (r) => logger.info({ rss_before_mb: r.rssBeforeMb, rss_after_mb: r.rssAfterMb }, "primary heap trimmed"),
    { atStart: true },
  );
  return {
    host,
    port,
    workers: n,
    stop: () => {
      stopTrim();
      return supervisor.stop();
    },
    reload: (next) => supervisor.reload(next),
  };
}
