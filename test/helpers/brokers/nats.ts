/**
 * Starts a real `nats-server` (Debian's package) on a free loopback port for one test file, like
 * nats.js' own tests do. The process can be killed and started again on the same port and store
 * directory to test broker outages.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinary } from "./ensure.js";
import { freePort, waitForPort } from "./net.js";

export interface NatsServerOptions {
  /** Enable JetStream with a fresh store directory. */
  readonly jetstream?: boolean;
  /** Listen on this port instead of a free one (e.g. a port a provider already dials). */
  readonly port?: number;
  /** Extra command-line arguments, e.g. `["--auth", "s3cret"]`. */
  readonly args?: readonly string[];
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** Kills the server and removes its store directory. Idempotent. */
  stop(): Promise<void>;
  /** Kills the server but keeps its port and store, so start() can bring it back. */
  kill(): Promise<void>;
  /** Starts the killed server again on the same port and store directory. */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
/** Servers of this process, killed if the test worker exits without stopping them. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** Spawns nats-server on 127.0.0.1 and resolves once it accepts connections. */
export async function startNats(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = await ensureBinary("nats-server", "nats-server");
  const storeDir = options.jetstream ? await mkdtemp(join(tmpdir(), "streamgate-nats-")) : undefined;
  let port = options.port ?? (await freePort());
  let proc: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = ["-a", "127.0.0.1", "-p", String(port), ...(options.args ?? [])];
    if (storeDir) args.push("-js", "-sd", storeDir);
    proc = await spawnReady(bin, args, port);
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
        if (storeDir) await rm(storeDir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }

  let stopped = false;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kill,
    start: async () => {
      if (stopped) throw new Error("nats-server was stopped for good");
      if (!proc) await launch();
    },
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      stopped = true;
      await kill();
      if (storeDir) await rm(storeDir, { recursive: true, force: true });
    },
  };
}

/** Spawns the server and waits for its "Server is ready" line and for the port to accept. */
async function spawnReady(bin: string, args: string[], port: number): Promise<ChildProcess> {
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  let log = "";
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      // Keep the tail only: enough to explain a failure, bounded for a long-running server.
      log = (log + chunk.toString()).slice(-8192);
      if (log.includes("Server is ready")) resolve();
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.once("error", reject);
    proc.once("exit", (code, signal) =>
      reject(new Error(`nats-server exited (${signal ?? code}) before it was ready:\n${log}`)),
    );
  });
  try {
    await withDeadline(
      ready,
      READY_TIMEOUT_MS,
      () => `nats-server not ready after ${READY_TIMEOUT_MS}ms:\n${log}`,
    );
    await waitForPort(port, READY_TIMEOUT_MS);
    return proc;
  } catch (err) {
    await terminate(proc);
    throw err;
  }
}

/** SIGTERM, then SIGKILL if the process lingers; resolves once it has exited. */
async function terminate(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

async function withDeadline<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
