/**
 * Starts a real `nats-server` (Debian's package) on a free loopback port for one test file, like
 * nats.js' own tests do. The process can be killed and started again on the same port and store
 * directory to test broker outages.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinary } from "./ensure.js";
import { type RestartableServer, spawnReady, startRestartable } from "./process.js";

export interface NatsServerOptions {
  /** Enable JetStream with a fresh store directory. */
  readonly jetstream?: boolean;
  /** Listen on this port instead of a free one (e.g. a port a provider already dials). */
  readonly port?: number;
  /** Extra command-line arguments, e.g. `["--auth", "s3cret"]`. */
  readonly args?: readonly string[];
  /**
   * A nats-server configuration file's text (TLS, accounts, leaf nodes...). The command line's
   * address, port and JetStream store still apply. `{{STORE}}` is replaced by the store folder.
   */
  readonly config?: string;
}

/**
 * A running nats-server. kill() keeps its store directory with its port, so start() brings the
 * server back with its JetStream data; stop() removes the store.
 */
export interface NatsServer extends RestartableServer {
  readonly url: string;
  /** The JetStream store directory (`-sd`), when JetStream is on: a test may damage it while killed. */
  readonly storeDir?: string;
}

/** Spawns nats-server on 127.0.0.1 and resolves once it accepts connections. */
export async function startNats(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = await ensureBinary("nats-server", "nats-server");
  const storeDir =
    options.jetstream || options.config ? await mkdtemp(join(tmpdir(), "streamgate-nats-")) : undefined;
  const configFile = storeDir && options.config ? join(storeDir, "nats.conf") : undefined;
  if (configFile) await writeFile(configFile, options.config!.replaceAll("{{STORE}}", join(storeDir!, "js")));
  const server = await startRestartable({
    name: "nats-server",
    port: options.port,
    launch: (port) => {
      const args = ["-a", "127.0.0.1", "-p", String(port), ...(options.args ?? [])];
      if (configFile) args.push("-c", configFile);
      if (options.jetstream) args.push("-js", "-sd", join(storeDir!, "js"));
      return spawnReady({ name: "nats-server", bin, args, port, readyLine: "Server is ready" });
    },
    cleanup: async () => {
      if (storeDir) await rm(storeDir, { recursive: true, force: true });
    },
  });
  return {
    url: `nats://127.0.0.1:${server.port}`,
    ...(options.jetstream ? { storeDir: join(storeDir!, "js") } : {}),
    ...server,
  };
}
