/**
 * Child-process plumbing shared by the broker harnesses that run a real server (nats.ts,
 * redis.ts): spawn a server and wait until it is ready, terminate it, and keep one on a fixed port
 * that can be killed and started again to test broker outages.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { freePort, waitForPort } from "./net.js";

/** How long a server may take to print its ready line and to accept connections. */
export const READY_TIMEOUT_MS = 15_000;
/** Servers of this process, killed if the test worker exits without stopping them. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** A server process to spawn on 127.0.0.1:`port`. */
export interface ServerCommand {
  /** Names the server in errors, e.g. "nats-server". */
  readonly name: string;
  readonly bin: string;
  readonly args: readonly string[];
  readonly port: number;
  /** The server prints this (stdout or stderr) once it is ready. */
  readonly readyLine: string;
}

/** Spawns the server and waits for its ready line and for the port to accept connections. */
export async function spawnReady(cmd: ServerCommand): Promise<ChildProcess> {
  const proc = spawn(cmd.bin, cmd.args, { stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  let log = "";
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      // Keep the tail only: enough to explain a failure, bounded for a long-running server.
      log = (log + chunk.toString()).slice(-8192);
      if (log.includes(cmd.readyLine)) resolve();
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.once("error", reject);
    proc.once("exit", (code, signal) =>
      reject(new Error(`${cmd.name} exited (${signal ?? code}) before it was ready:\n${log}`)),
    );
    timer = setTimeout(
      () => reject(new Error(`${cmd.name} not ready after ${READY_TIMEOUT_MS}ms:\n${log}`)),
      READY_TIMEOUT_MS,
    );
  });
  try {
    await ready;
    await waitForPort(cmd.port, READY_TIMEOUT_MS);
    return proc;
  } catch (err) {
    await terminate(proc);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, then SIGKILL if the process lingers; resolves once it has exited. */
export async function terminate(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** A server that keeps its port across kill() and start(). */
export interface RestartableServer {
  readonly port: number;
  /** Kills the server for good and runs the cleanup. Idempotent. */
  stop(): Promise<void>;
  /** Kills the server but keeps its port, so start() can bring it back. */
  kill(): Promise<void>;
  /** Starts the killed server again on the same port. */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
  /**
   * Sends a signal to the running server (SIGSTOP / SIGCONT freeze and thaw it); resolves once
   * the kernel shows the process stopped or running again, so a test acts on the state it asked for.
   */
  signal(sig: NodeJS.Signals): Promise<void>;
}

export interface RestartableOptions {
  /** Names the server in errors, e.g. "nats-server". */
  readonly name: string;
  /** Listen on this port instead of a free one (e.g. a port a provider already dials). */
  readonly port?: number;
  /** Spawns the server on `port` and resolves once it is ready (see {@link spawnReady}). */
  launch(port: number): Promise<ChildProcess>;
  /** Removes what the server leaves behind (e.g. a store directory): after stop(), or a failed first launch. */
  cleanup?(): Promise<void>;
}

/** Launches a server on `port`, or on a free port, and returns its handle. */
export async function startRestartable(options: RestartableOptions): Promise<RestartableServer> {
  let port = options.port ?? (await freePort());
  let proc: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    proc = await options.launch(port);
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (p) await terminate(p);
  };

  // A free port can be taken by another process between freePort() and the server's bind; when
  // we chose the port ourselves, choose again.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      if (options.port !== undefined || attempt >= 3 || !/address already in use/i.test(String(err))) {
        await options.cleanup?.();
        throw err;
      }
      port = await freePort();
    }
  }

  let stopped = false;
  return {
    port,
    kill,
    start: async () => {
      if (stopped) throw new Error(`${options.name} was stopped for good`);
      if (!proc) await launch();
    },
    restart: async () => {
      await kill();
      await launch();
    },
    signal: async (sig) => {
      const p = proc;
      if (!p?.pid) return;
      p.kill(sig);
      if (sig !== "SIGSTOP" && sig !== "SIGCONT") return;
      const want = sig === "SIGSTOP";
      for (let i = 0; i < 200; i++) {
        const stat = await readFile(`/proc/${p.pid}/stat`, "utf8").catch(() => "");
        // The state is the field after the parenthesised command name.
        const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
        if ((state === "T") === want) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    stop: async () => {
      stopped = true;
      await kill();
      await options.cleanup?.();
    },
  };
}
