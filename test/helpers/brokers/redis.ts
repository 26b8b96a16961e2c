/**
 * Starts a real `redis-server` (Debian's package) on a free loopback port for one test file, with
 * persistence off. Like the nats-server harness, the process can be killed and started again on
 * the same port to test broker outages. `startRedisCluster` builds a small Redis Cluster (masters
 * only) with `redis-cli --cluster create`, for the provider's cluster_enabled path.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureBinary } from "./ensure.js";
import { freePort, waitForPort } from "./net.js";

const run = promisify(execFile);

export interface RedisServerOptions {
  /** Listen on this port instead of a free one (e.g. a port a provider already dials). */
  readonly port?: number;
  /** A single server only; see {@link startRedisCluster} for a cluster. */
  readonly cluster?: false;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Kills the server for good. Idempotent. */
  stop(): Promise<void>;
  /** Kills the server but keeps its port, so start() can bring it back (with no data: save is off). */
  kill(): Promise<void>;
  /** Starts the killed server again on the same port. */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
}

export interface RedisCluster {
  /** redis://127.0.0.1:port of every master, usable as seed nodes. */
  readonly urls: readonly string[];
  readonly ports: readonly number[];
  /** Kills every node and removes their cluster config files. Idempotent. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
/** Servers of this process, killed if the test worker exits without stopping them. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

const baseArgs = (port: number): string[] => [
  "--port",
  String(port),
  "--bind",
  "127.0.0.1",
  "--save",
  "",
  "--appendonly",
  "no",
];

/** Spawns redis-server on 127.0.0.1 and resolves once it accepts connections. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = await ensureBinary("redis-server", "redis-server");
  let port = options.port ?? (await freePort());
  let proc: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    proc = await spawnReady(bin, baseArgs(port), port);
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (p) await terminate(p);
  };

  // A free port can be taken by another process between freePort() and the bind; when we chose
  // the port ourselves, choose again.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      if (options.port !== undefined || attempt >= 3 || !/address already in use/i.test(String(err))) {
        throw err;
      }
      port = await freePort();
    }
  }

  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start: async () => {
      if (stopped) throw new Error("redis-server was stopped for good");
      if (!proc) await launch();
    },
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      stopped = true;
      await kill();
    },
  };
}

/**
 * Starts `nodes` cluster-enabled servers and joins them into one cluster of masters (no replicas),
 * resolving once every node reports `cluster_state:ok`. Takes a second or two.
 */
export async function startRedisCluster(nodes = 3): Promise<RedisCluster> {
  const bin = await ensureBinary("redis-server", "redis-server");
  const cli = await ensureBinary("redis-cli", "redis-tools");
  const dir = await mkdtemp(join(tmpdir(), "streamgate-redis-cluster-"));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(procs.splice(0).map(terminate));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < nodes; i++) {
      const port = await freePort();
      const args = [
        ...baseArgs(port),
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${port}.conf`,
        "--dir",
        dir,
      ];
      procs.push(await spawnReady(bin, args, port));
      ports.push(port);
    }
    const addrs = ports.map((p) => `127.0.0.1:${p}`);
    await run(cli, ["--cluster", "create", ...addrs, "--cluster-replicas", "0", "--cluster-yes"], {
      timeout: READY_TIMEOUT_MS,
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const port of ports) {
      for (;;) {
        const { stdout } = await run(cli, ["-p", String(port), "cluster", "info"]);
        if (stdout.includes("cluster_state:ok")) break;
        if (Date.now() > deadline) throw new Error(`redis cluster node ${port} not ok:\n${stdout}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls: ports.map((p) => `redis://127.0.0.1:${p}`), ports, stop };
}

/** Spawns the server and waits for its "Ready to accept connections" line and for the port. */
async function spawnReady(bin: string, args: string[], port: number): Promise<ChildProcess> {
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  let log = "";
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      // Keep the tail only: enough to explain a failure, bounded for a long-running server.
      log = (log + chunk.toString()).slice(-8192);
      if (log.includes("Ready to accept connections")) resolve();
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.once("error", reject);
    proc.once("exit", (code, signal) =>
      reject(new Error(`redis-server exited (${signal ?? code}) before it was ready:\n${log}`)),
    );
    timer = setTimeout(
      () => reject(new Error(`redis-server not ready after ${READY_TIMEOUT_MS}ms:\n${log}`)),
      READY_TIMEOUT_MS,
    );
  });
  try {
    await ready;
    await waitForPort(port, READY_TIMEOUT_MS);
    return proc;
  } catch (err) {
    await terminate(proc);
    throw err;
  } finally {
    clearTimeout(timer);
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
