/**
 * A real Kafka-protocol broker for tests: librdkafka's mock cluster (`rdkafka_mock.h`, Debian's
 * librdkafka-dev) wrapped by kafka-mock/mock_broker.c, compiled once into a cache directory and
 * spawned per test file on a loopback port it picks itself. Any Kafka client can use it.
 *
 * Outages: the mock cannot be restarted on the same port once its process is gone, so kill() and
 * start() keep the process and take its broker down and up instead (rd_kafka_mock_broker_set_down:
 * connections are dropped and refused, the port and every record are kept). That is what a broker
 * restart looks like to a client. `startKafka({ down: true })` starts with the broker down, for
 * "broker down at start" cases.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { REPO_ROOT } from "../router.js";
import { ensurePackages } from "./ensure.js";

const run = promisify(execFile);

/** Debian packages the mock broker is built from: the library with rdkafka_mock.h, and gcc. */
export const KAFKA_MOCK_PACKAGES = ["librdkafka-dev", "gcc", "libc6-dev"] as const;
const SOURCE = join(REPO_ROOT, "test/helpers/brokers/kafka-mock/mock_broker.c");
const CACHE_DIR = join(REPO_ROOT, "node_modules/.cache/streamgate");
const READY_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 10_000;

export interface KafkaBrokerOptions {
  /** Brokers in the mock cluster. Default 1. */
  readonly brokers?: number;
  /** Topics to create before the cluster is announced, `name` or `name:partitions`. */
  readonly topics?: readonly string[];
  /** Start with every broker down (connections refused) until start() is called. */
  readonly down?: boolean;
}

export interface KafkaBroker {
  /** Bootstrap list for clients, `127.0.0.1:port[,...]`. */
  readonly brokers: string;
  /** Creates a topic; rejects if it exists. */
  createTopic(name: string, partitions?: number): Promise<void>;
  /** Takes every broker down: connections dropped and refused; port and records kept. */
  kill(): Promise<void>;
  /** Brings the brokers back up after kill(). */
  start(): Promise<void>;
  /** kill(), a pause long enough for clients to notice, then start(). */
  restart(pauseMs?: number): Promise<void>;
  /** Ends the mock cluster process. Idempotent. */
  stop(): Promise<void>;
}

/** Mock processes of this test worker, killed if it exits without stopping them. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

let prepared: Promise<string> | undefined;

/**
 * Installs librdkafka-dev and gcc when missing (as root) and compiles the mock broker into
 * node_modules/.cache/streamgate, keyed by the source and the librdkafka version so an upgrade
 * rebuilds it. Resolves to the binary. vitest's globalSetup calls it once before the test forks.
 */
export function prepareKafkaMock(): Promise<string> {
  prepared ??= build().catch((err: unknown) => {
    prepared = undefined;
    throw err;
  });
  return prepared;
}

async function build(): Promise<string> {
  await ensurePackages(KAFKA_MOCK_PACKAGES);
  const source = await readFile(SOURCE);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const { stdout: version } = await run("dpkg-query", ["-W", "-f=${Version}", "librdkafka-dev"]);
  const key = createHash("sha256").update(source).update(version).digest("hex").slice(0, 16);
  const bin = join(CACHE_DIR, `kafka-mock-${key}`);
  if (
    await stat(bin).then(
      () => true,
      () => false,
    )
  )
    return bin;
  await mkdir(CACHE_DIR, { recursive: true });
  // Compile to a private name, then rename: test forks building at once never see half a file.
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    await run("cc", [
      "-std=c11",
      "-D_POSIX_C_SOURCE=200809L",
      "-O1",
      "-Wall",
      "-o",
      tmp,
      SOURCE,
      "-lrdkafka",
    ]);
    await rename(tmp, bin);
  } catch (err) {
    await rm(tmp, { force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`compiling the Kafka mock broker failed: ${e.stderr?.trim() || e.message}`, {
      cause: err,
    });
  }
  return bin;
}

/** Spawns a mock Kafka cluster on loopback and resolves once it listens. */
export async function startKafka(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const bin = await prepareKafkaMock();
  const count = options.brokers ?? 1;
  const proc = spawn(bin, ["-b", String(count), ...(options.topics ?? [])], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  live.add(proc);
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  void exited.then(() => live.delete(proc));
  let log = "";
  proc.stderr!.on("data", (chunk: Buffer) => {
    // Keep the tail only: enough to explain a failure.
    log = (log + chunk.toString()).slice(-8192);
  });

  // Each command is answered by exactly one line, in order.
  const waiting: ((line: string) => void)[] = [];
  let bootstrap: ((addr: string) => void) | undefined;
  const ready = new Promise<string>((resolve, reject) => {
    bootstrap = resolve;
    proc.once("error", reject);
    proc.once("exit", (code, signal) =>
      reject(new Error(`kafka mock broker exited (${signal ?? code}) before it was ready:\n${log}`)),
    );
  });
  let announced = false;
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    if (announced) {
      waiting.shift()?.(line);
    } else if (line.startsWith("bootstrap ")) {
      announced = true;
      bootstrap?.(line.slice("bootstrap ".length).trim());
    } else {
      // Answers for the topics of the command line; a failed one makes the process exit.
      log += `${line}\n`;
    }
  });

  let stopped = false;
  let queue: Promise<unknown> = Promise.resolve();
  const command = (line: string): Promise<string> => {
    const sent = queue.then(
      () =>
        new Promise<string>((resolve, reject) => {
          if (stopped || proc.exitCode !== null) {
            reject(new Error(`kafka mock broker is not running (command "${line}")`));
            return;
          }
          const timer = setTimeout(
            () => reject(new Error(`kafka mock broker did not answer "${line}":\n${log}`)),
            COMMAND_TIMEOUT_MS,
          );
          waiting.push((answer) => {
            clearTimeout(timer);
            if (answer.startsWith("ok ")) resolve(answer);
            else reject(new Error(`kafka mock broker: ${answer}`));
          });
          proc.stdin!.write(`${line}\n`);
        }),
    );
    queue = sent.catch(() => undefined);
    return sent;
  };
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const setAll = async (state: "up" | "down") => {
    for (const id of ids) await command(`${state} ${id}`);
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      // Closing stdin ends it; SIGKILL only if it hangs.
      proc.stdin!.end();
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  let brokers: string;
  try {
    brokers = await withDeadline(ready, READY_TIMEOUT_MS, () => `kafka mock broker not ready:\n${log}`);
    if (options.down) await setAll("down");
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    brokers,
    createTopic: async (name, partitions = 1) => {
      await command(`create ${name} ${partitions}`);
    },
    kill: () => setAll("down"),
    start: () => setAll("up"),
    restart: async (pauseMs = 300) => {
      await setAll("down");
      await new Promise((r) => setTimeout(r, pauseMs));
      await setAll("up");
    },
    stop,
  };
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
