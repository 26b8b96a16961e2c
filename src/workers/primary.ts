/**
 * The primary of `workers: N | auto` (spec/scale.md): starts one router per worker thread on a
 * shared port (uWS sets SO_REUSEPORT for a non-zero port, so the kernel spreads connections),
 * wires a MessageChannel between every pair of workers, restarts a worker that dies, merges
 * every worker's metrics for /metrics, and coordinates shutdown. It serves nothing itself.
 */
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { MessageChannel, Worker } from "node:worker_threads";
import { AggregatorRegistry } from "prom-client";
import { splitAddr } from "../config/listen.js";
import { withoutSource } from "../config/loader.js";
import type { Config } from "../config/types.js";
import { ErrorCode, StreamgateError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { clearRegion, createConnectionTable } from "../security/connections.js";
import type { ToPrimary, ToWorker, WorkerData } from "./messages.js";

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying restarts at once again (not a crash loop). */
const HEALTHY_AFTER_MS = 60_000;

/** How many worker threads a config asks for. */
export function workerCount(workers: Config["workers"]): number {
  return workers === "auto" ? availableParallelism() : workers;
}

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

export async function startPrimary(config: Config, logger: Logger, logLevel?: string): Promise<Primary> {
  const n = workerCount(config.workers);
  const { host, port: configured } = splitAddr(config.listen_addr);
  const port = configured === 0 ? await freePort(host) : configured;
  const shared = {
    ...withoutSource(config),
    listen_addr: `${host.includes(":") ? `[${host}]` : host}:${port}`,
    workers: 1,
  };
  const slots: Slot[] = Array.from({ length: n }, (_, index) => ({
    index,
    worker: undefined,
    ready: false,
    startedAt: 0,
    backoffMs: RESTART_MIN_MS,
    restartTimer: undefined,
  }));
  // One process-wide count of connections for limits.max_connections(_per_ip).
  const connections = createConnectionTable(n);
  let stopping = false;
  let metricsSeq = 0;
  const gathering = new Map<number, { parts: unknown[]; left: number; done: () => void }>();
  let firstStart: { resolve: () => void; reject: (e: Error) => void } | undefined;
  const started = new Promise<void>((resolve, reject) => {
    firstStart = { resolve, reject };
  });

  const send = (slot: Slot, m: ToWorker, transfer?: readonly unknown[]): void => {
    slot.worker?.postMessage(m, transfer as never);
  };

  const gatherMetrics = (from: Slot, id: number): void => {
    const live = slots.filter((s) => s.worker && s.ready);
    const key = ++metricsSeq;
    const entry = {
      parts: [] as unknown[],
      left: live.length,
      done: () => {
        gathering.delete(key);
        clearTimeout(timer);
        const merged = AggregatorRegistry.aggregate(entry.parts as never[]);
        merged.metrics().then((text) => send(from, { t: "metrics-text", id, text }));
      },
    };
    // A worker that does not answer (busy, dying) must not hold the scrape forever.
    const timer = setTimeout(() => entry.done(), 1500);
    gathering.set(key, entry);
    for (const s of live) send(s, { t: "metrics-collect", id: key });
  };

  const spawn = (slot: Slot): void => {
    const data: WorkerData = {
      index: slot.index,
      config: shared,
      connections,
      ...(logLevel ? { logLevel } : {}),
    };
    const worker = new Worker(new URL("./worker-main.js", import.meta.url), { workerData: data });
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = Date.now();
    // Wire the new worker to every other running one.
    for (const other of slots) {
      if (other === slot || !other.worker) continue;
      const { port1, port2 } = new MessageChannel();
      send(slot, { t: "peer", index: other.index, port: port1 }, [port1]);
      send(other, { t: "peer", index: slot.index, port: port2 }, [port2]);
    }
    worker.on("message", (m: ToPrimary) => {
      switch (m.t) {
        case "ready":
          slot.ready = true;
          logger.info({ worker: slot.index }, "worker ready");
          if (slots.every((s) => s.ready)) firstStart?.resolve();
          return;
        case "start-failed":
          if (firstStart && !slots.every((s) => s.ready)) {
            firstStart.reject(new StreamgateError(ErrorCode.LISTEN_FAILED, m.message));
          } else logger.error({ worker: slot.index, err: m.message }, "worker failed to start");
          return;
        case "metrics-req":
          gatherMetrics(slot, m.id);
          return;
        case "metrics-json": {
          const g = gathering.get(m.id);
          if (!g) return;
          g.parts.push(m.json);
          if (--g.left === 0) g.done();
          return;
        }
        case "stopped":
          return;
      }
    });
    worker.on("error", (err) => logger.error({ worker: slot.index, err: err.message }, "worker error"));
    worker.on("exit", (code) => {
      if (slot.worker !== worker) return;
      // Its sockets died with it; so do their counts (the replacement starts from zero too).
      clearRegion(connections, slot.index);
      slot.worker = undefined;
      const wasReady = slot.ready;
      slot.ready = false;
      if (firstStart && !wasReady && !stopping) {
        firstStart.reject(
          new StreamgateError(
            ErrorCode.WORKER_FAILED,
            `worker ${slot.index} exited with code ${code} while starting`,
          ),
        );
        return;
      }
      for (const other of slots) if (other.worker) send(other, { t: "peer-gone", index: slot.index });
      if (stopping) return;
      const ranFor = Date.now() - slot.startedAt;
      if (ranFor > HEALTHY_AFTER_MS) slot.backoffMs = RESTART_MIN_MS;
      logger.error({ worker: slot.index, code, restart_in_ms: slot.backoffMs }, "worker exited; restarting");
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        if (!stopping) spawn(slot);
      }, slot.backoffMs);
      slot.backoffMs = Math.min(slot.backoffMs * 2, RESTART_MAX_MS);
    });
  };

  const stop = async (): Promise<void> => {
    stopping = true;
    for (const s of slots) clearTimeout(s.restartTimer);
    const running = slots.filter((s) => s.worker);
    const exits = running.map((s) => new Promise<void>((r) => s.worker!.once("exit", () => r())));
    for (const s of running) send(s, { t: "shutdown" });
    const all = Promise.all(exits);
    const late = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), config.shutdown_grace_period + 2000).unref()),
    ]);
    if (late) {
      for (const s of slots) if (s.worker) send(s, { t: "close-now" });
      await Promise.race([all, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  };

  for (const slot of slots) spawn(slot);
  try {
    await started;
  } catch (err) {
    await stop();
    throw err;
  }
  firstStart = undefined;
  return { host, port, workers: n, stop };
}
