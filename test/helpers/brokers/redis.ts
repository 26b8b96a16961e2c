/**
 * Starts a real `redis-server` (Debian's package) on a free loopback port for one test file, with
 * persistence off. Like the nats-server harness, the process can be killed and started again on
 * the same port to test broker outages. `startRedisCluster` builds a small Redis Cluster (masters
 * only) with `redis-cli --cluster create`, for the provider's cluster_enabled path.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureBinary } from "./ensure.js";
import { freePort } from "./net.js";
import {
  READY_TIMEOUT_MS,
  type RestartableServer,
  spawnReady,
  startRestartable,
  terminate,
} from "./process.js";

const run = promisify(execFile);

export interface RedisServerOptions {
  /** Listen on this port instead of a free one (e.g. a port a provider already dials). */
  readonly port?: number;
  /** A single server only; see {@link startRedisCluster} for a cluster. */
  readonly cluster?: false;
  /**
   * TLS only (no plain port): the server's certificate and key, the CA clients are checked
   * against, and whether a client certificate is required (mutual TLS).
   */
  readonly tls?: {
    readonly cert: string;
    readonly key: string;
    readonly ca: string;
    readonly clientCerts: boolean;
  };
  /**
   * ACL users, one rule list each (`["router", "on", ">pw", "resetchannels", "&allowed.*", "+@all"]`);
   * the default user is switched off when any is given.
   */
  readonly users?: readonly (readonly string[])[];
}

/** A running redis-server. A server brought back after kill() has no data: save is off. */
export interface RedisServer extends RestartableServer {
  readonly url: string;
}

export interface RedisCluster {
  /** redis://127.0.0.1:port of every master, usable as seed nodes. */
  readonly urls: readonly string[];
  readonly ports: readonly number[];
  /** Kills every node and removes their cluster config files. Idempotent. */
  stop(): Promise<void>;
}

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
  const extra = (port: number): string[] => {
    const args: string[] = [];
    const t = options.tls;
    if (t) {
      args.push(
        "--port",
        "0",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        t.cert,
        "--tls-key-file",
        t.key,
      );
      args.push("--tls-ca-cert-file", t.ca, "--tls-auth-clients", t.clientCerts ? "yes" : "no");
    }
    if (options.users?.length) {
      args.push("--user", "default", "off");
      for (const rules of options.users) args.push("--user", ...rules);
    }
    return args;
  };
  const server = await startRestartable({
    name: "redis-server",
    port: options.port,
    // Later directives win: the TLS set-up moves the plain port to 0 (off).
    launch: (port) => spawnRedis(bin, [...baseArgs(port), ...extra(port)], port),
  });
  return { url: `${options.tls ? "rediss" : "redis"}://127.0.0.1:${server.port}`, ...server };
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
      const [proc, port] = await spawnClusterNode(bin, dir);
      procs.push(proc);
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

/**
 * One cluster node on two ports picked like any other (below the ephemeral range): its client port
 * and its cluster bus port, set with `--cluster-port`. Left to its default (client port + 10000),
 * the bus port was never checked and could land in the ephemeral range, where an outgoing
 * connection or another test's server may hold it: the node then exits "Failed listening on port
 * ... (cluster)". Either port can still be taken between the check and the bind, so a bind failure
 * picks both again.
 */
async function spawnClusterNode(bin: string, dir: string): Promise<[ChildProcess, number]> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let bus = await freePort();
    while (bus === port) bus = await freePort();
    const args = [
      ...baseArgs(port),
      "--cluster-enabled",
      "yes",
      "--cluster-port",
      String(bus),
      "--cluster-config-file",
      `nodes-${port}.conf`,
      "--dir",
      dir,
    ];
    try {
      return [await spawnRedis(bin, args, port), port];
    } catch (err) {
      if (attempt >= 5 || !/address already in use/i.test(String(err))) throw err;
    }
  }
}

/** Spawns redis-server and waits for its "Ready to accept connections" line and for the port. */
function spawnRedis(bin: string, args: string[], port: number): Promise<ChildProcess> {
  return spawnReady({ name: "redis-server", bin, args, port, readyLine: "Ready to accept connections" });
}
