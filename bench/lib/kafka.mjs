/**
 * `--broker kafka`: librdkafka's in-memory mock cluster (`rdkafka_mock.h` from Debian's
 * librdkafka-dev), the only Kafka-protocol broker that runs here. It is NOT Apache Kafka: one
 * process, one I/O thread, records in memory, no disk, no replication. Results say so.
 *
 * The broker is the tests' own C wrapper (test/helpers/brokers/kafka-mock/mock_broker.c), compiled
 * the way test/helpers/brokers/kafka.ts does it and into the same cache, so a machine that ran the
 * tests already has the binary. It prints "bootstrap <host:port>" once it listens and then answers
 * one line per stdin command ("create TOPIC PARTITIONS" → "ok ..." | "error ...").
 *
 * The publisher and the baselines' consumer use `@confluentinc/kafka-javascript` (a dependency
 * already, Streamgate's own client), imported lazily so NATS and Redis runs never load it.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { spawnReady } from "./proc.mjs";
import { REPO_ROOT } from "./sys.mjs";

/** Kafka topics are `employeeUpdated.<topic>`, like the NATS subjects: valid Kafka names ([a-zA-Z0-9._-]). */
export const TOPIC_PREFIX = "employeeUpdated.";

/**
 * fetch.wait.max.ms of every consumer in a Kafka run (Streamgate's `fetch_max_wait`, the
 * baselines' consumer). The mock answers an empty fetch only after the full wait, even when a
 * record arrives meanwhile (rdkafka_mock_handlers.c: "isn't strictly correct since we should cut
 * the wait short"); a real broker answers at once. With Streamgate's default of 100 ms every
 * latency figure would be the mock's fetch wait, so the bench uses a short one, for every stack.
 * The price: each consumer sends a fetch listing all its partitions every `wait` ms, which with
 * 1,000 topics costs the stack (and the mock) a large share of a core even with no records.
 * `--kafka-fetch-wait` changes it; the harness passes it on to the stacks it spawns in the
 * environment (BENCH_KAFKA_FETCH_WAIT_MS), as the baselines have no other channel for it.
 */
export const DEFAULT_FETCH_WAIT_MS = 10;
const FETCH_WAIT_ENV = "BENCH_KAFKA_FETCH_WAIT_MS";

/** The fetch wait of this run (ms). */
export function fetchWaitMs() {
  const raw = process.env[FETCH_WAIT_ENV];
  const v = Number(raw);
  return raw && Number.isFinite(v) && v >= 0 ? v : DEFAULT_FETCH_WAIT_MS;
}

/** Sets the fetch wait for this process and every stack it starts afterwards. */
export function setFetchWaitMs(ms) {
  process.env[FETCH_WAIT_ENV] = String(ms);
}

/** One line for the results' notes. */
export function kafkaNote() {
  return (
    "Kafka: the broker is librdkafka's in-memory mock cluster (rdkafka_mock, Debian librdkafka-dev, " +
    "via test/helpers/brokers/kafka-mock/mock_broker.c), not Apache Kafka: one process, one I/O thread, " +
    "no disk, no replication. One partition per topic. Every consumer (Streamgate's provider, the " +
    `baselines') uses fetch.wait.max.ms = ${fetchWaitMs()} ms (--kafka-fetch-wait): the mock holds an ` +
    "empty fetch for the full wait even when a record arrives, so the wait is a floor under latency, and " +
    "each consumer re-sends a fetch listing every partition that often, which costs CPU with many " +
    "topics; publisher: acks=all, idempotent, linger.ms=0."
  );
}

const SOURCE = join(REPO_ROOT, "test/helpers/brokers/kafka-mock/mock_broker.c");
// The tests' cache and key (source + librdkafka-dev version): either side reuses the other's build.
const CACHE_DIR = join(REPO_ROOT, "node_modules/.cache/streamgate");
const PACKAGES = ["librdkafka-dev", "gcc", "libc6-dev"];

let rdkafkaModule;
/** The native client, loaded on first use. */
async function rdkafka() {
  rdkafkaModule ??= import("@confluentinc/kafka-javascript").then((m) => m.default ?? m);
  return rdkafkaModule;
}

/** A librdkafka callback API as a promise. */
const callback = (start) =>
  new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));

function dpkgVersion(pkg) {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const out = execFileSync("dpkg-query", ["-W", "-f=${Status}|${Version}", pkg], { encoding: "utf8" });
    const [status, version] = out.split("|");
    return status === "install ok installed" ? version : undefined;
  } catch {
    return undefined;
  }
}

/** Installs what the build needs (as root, like the tests), else says what to run. */
function ensurePackages() {
  const missing = PACKAGES.filter((p) => !dpkgVersion(p));
  if (missing.length === 0) return;
  const cmd = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) throw new Error(`the Kafka mock broker needs: sudo ${cmd}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update"], { stdio: "ignore", env });
  execFileSync("apt-get", cmd.split(" ").slice(1), { stdio: "ignore", env });
}

/** What a Kafka run used: the client library and the mock broker's librdkafka. */
export function kafkaVersions() {
  let client = null;
  let librdkafka = null;
  try {
    const dir = join(REPO_ROOT, "node_modules/@confluentinc/kafka-javascript");
    client = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
    librdkafka = createRequire(import.meta.url)(dir).librdkafkaVersion;
  } catch {
    // not installed: the run has failed before this is asked
  }
  return {
    "@confluentinc/kafka-javascript": client,
    "librdkafka (clients)": librdkafka,
    "librdkafka (mock broker, Debian librdkafka-dev)": dpkgVersion("librdkafka-dev") ?? null,
  };
}

/** Compiles mock_broker.c once (cached); returns the binary's path. */
export function prepareKafkaMock() {
  ensurePackages();
  const source = readFileSync(SOURCE);
  const key = createHash("sha256").update(source).update(dpkgVersion("librdkafka-dev")).digest("hex");
  const bin = join(CACHE_DIR, `kafka-mock-${key.slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(CACHE_DIR, { recursive: true });
  // A private name, then rename: a test run compiling at the same time never sees half a file.
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    execFileSync(
      "cc",
      ["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-O1", "-Wall", "-o", tmp, SOURCE, "-lrdkafka"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    renameSync(tmp, bin);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(
      `compiling the Kafka mock broker failed: ${err.stderr?.toString().trim() || err.message}`,
    );
  }
  return bin;
}

/** A topic of its own for the waker below; no stack ever reads it. */
const WAKER_TOPIC = "bench.waker";

/**
 * Starts the mock cluster (one broker) pinned to `cpus` and creates `employeeUpdated.<t>` for each
 * of `topics`, one partition each (Streamgate's provider never auto-creates topics, and one
 * partition keeps every topic's records in publish order).
 */
export async function startKafkaMock({ cpus, topics = [] } = {}) {
  const bin = prepareKafkaMock();
  const child = spawnReady(bin, ["-b", "1", `${WAKER_TOPIC}:1`], {
    cpus,
    stdin: "pipe",
    name: "kafka mock broker",
    ready: (line) => (line.startsWith("bootstrap ") ? line.slice(10).trim() : undefined),
  });
  const bootstrap = await child.value;
  // Each command is answered by exactly one line, in order.
  const waiting = [];
  createInterface({ input: child.proc.stdout }).on("line", (line) => waiting.shift()?.(line));
  const command = (line) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.proc.stdin.write(`${line}\n`);
    });
  const t0 = performance.now();
  const waker = topics.length > 0 ? await startWaker(bootstrap) : undefined;
  let answers;
  try {
    answers = await Promise.all(topics.map((t) => command(`create ${TOPIC_PREFIX}${t} 1`)));
  } finally {
    await waker?.stop();
  }
  const failed = answers.filter((a) => !a.startsWith("ok "));
  if (failed.length > 0) {
    await child.stop();
    throw new Error(`kafka mock broker: ${failed.length} topics not created (${failed[0]})`);
  }
  return {
    url: bootstrap,
    pid: child.pid,
    topicsCreated: topics.length,
    createTopicsMs: Math.round(performance.now() - t0),
    stop: () => child.stop(),
  };
}

/**
 * Keeps the mock's I/O thread awake while topics are created. Measured here with Debian's
 * librdkafka 2.0.2: after a few hundred "create" commands the thread starts missing the wake-up
 * of its control queue and serves each command only on its 1 s poll timeout (300 topics: 43 s;
 * 2,000 did not finish in a minute). Socket traffic wakes it too, so a consumer fetching with
 * fetch.wait.max.ms 0 (an empty fetch is answered at once, and the next one follows) brings
 * 10,000 topics down to under a second. It runs only during creation, before any measurement.
 */
async function startWaker(bootstrap) {
  const { KafkaConsumer } = await rdkafka();
  const consumer = new KafkaConsumer(
    {
      "metadata.broker.list": bootstrap,
      "group.id": `bench-waker-${randomBytes(4).toString("hex")}`,
      "fetch.wait.max.ms": 0,
      "fetch.error.backoff.ms": 0,
      "enable.auto.commit": false,
    },
    {},
  );
  await callback((cb) => consumer.connect({ timeout: 10_000 }, cb));
  consumer.assign([{ topic: WAKER_TOPIC, partition: 0, offset: -1 }]);
  consumer.setDefaultConsumeTimeout(100);
  let running = true;
  const loop = (async () => {
    while (running) await new Promise((r) => consumer.consume(10, () => r()));
  })();
  // Let it start fetching before the first command goes out.
  await new Promise((r) => setTimeout(r, 300));
  return {
    async stop() {
      running = false;
      await loop;
      await callback((cb) => consumer.disconnect(cb)).catch(() => {});
    },
  };
}

/**
 * Publishes `{"id": …}` records to `employeeUpdated.<topic>`. Settings as Streamgate's producer
 * (acks=all, idempotent: a retry never reorders) but linger.ms 0 and no Nagle, so a record leaves
 * at once. produce() only queues; flush() waits until the broker acknowledged everything.
 */
export async function kafkaPublisher(bootstrap) {
  const { Producer } = await rdkafka();
  const producer = new Producer({
    "metadata.broker.list": bootstrap,
    "client.id": "bench-publisher",
    acks: "all",
    "enable.idempotence": true,
    "linger.ms": 0,
    "socket.nagle.disable": true,
    "allow.auto.create.topics": false,
  });
  await callback((cb) => producer.connect({ timeout: 10_000 }, cb));
  producer.setPollInBackground(true);
  const pub = {
    kind: "kafka",
    /** Records librdkafka refused to queue (queue full, unknown topic): the publisher fell behind. */
    errors: 0,
    lastError: undefined,
    publish(topic, id) {
      try {
        producer.produce(`${TOPIC_PREFIX}${topic}`, null, Buffer.from(`{"id":${JSON.stringify(id)}}`));
      } catch (err) {
        pub.errors++;
        pub.lastError = err?.message ?? String(err);
      }
    },
    flush: () => callback((cb) => producer.flush(30_000, cb)),
    close: () => callback((cb) => producer.disconnect(5000, cb)).catch(() => {}),
  };
  return pub;
}

/**
 * For the baselines: one consumer reading every partition of every `employeeUpdated.*` topic that
 * exists now (the harness created them before any stack starts), from the end, so only new records
 * arrive. Like Streamgate's provider: assign() only, never a group join or a commit (librdkafka
 * still wants a group.id), and the same consume pattern (batches of up to 500, the wait bounding
 * only the first record). `onEvent(topic, text)`.
 */
export async function kafkaSubscribeAll(bootstrap, onEvent) {
  const { KafkaConsumer } = await rdkafka();
  const consumer = new KafkaConsumer(
    {
      "metadata.broker.list": bootstrap,
      "client.id": "bench-baseline",
      "group.id": `bench-${randomBytes(6).toString("hex")}`,
      "enable.auto.commit": false,
      "enable.auto.offset.store": false,
      "enable.partition.eof": false,
      "fetch.wait.max.ms": fetchWaitMs(),
      "allow.auto.create.topics": false,
    },
    {},
  );
  await callback((cb) => consumer.connect({ timeout: 10_000 }, cb));
  const meta = await callback((cb) => consumer.getMetadata({ timeout: 10_000 }, cb));
  const assignment = meta.topics
    .filter((t) => t.name.startsWith(TOPIC_PREFIX))
    .flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.id, offset: -1 }))); // -1: end
  if (assignment.length === 0) throw new Error(`no ${TOPIC_PREFIX}* topics on ${bootstrap}`);
  consumer.assign(assignment);
  consumer.setDefaultConsumeTimeout(250);
  consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
  let running = true;
  const loop = (async () => {
    while (running) {
      let batch;
      try {
        batch = await callback((cb) => consumer.consume(500, cb));
      } catch {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      for (const m of batch) onEvent(m.topic, m.value ? m.value.toString() : "{}");
    }
  })();
  return {
    partitions: assignment.length,
    async close() {
      running = false;
      await loop;
      await callback((cb) => consumer.disconnect(cb)).catch(() => {});
    },
  };
}
