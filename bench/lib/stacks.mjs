/**
 * The stacks under comparison. Each starts as its own process (tree), pinned to the router core,
 * listening on a free loopback port, and is measured as the sum over its process tree.
 *
 *   streamgate  Streamgate, 1 worker, `node dist/bin/streamgate.js --config <generated>` on NATS, Redis, Kafka or memory://
 *   streamgate-hook-receive / -deliver  the same with a no-op stream hook module (issue 13)
 *   streamgate-jwt, -jwt-arg, -jwt-claim, -alo   Streamgate variants for issues 10 and 11 (lib/variants.mjs)
 *   graphql-ws  baseline 2: graphql-ws on ws, graphql-js, in-process pubsub (bench/baselines/graphql-ws-server.mjs)
 *   federated   baseline 3: gateway proxying each subscription over its own WebSocket to a subgraph
 *   uws-floor   the floor: bare uWebSockets.js topics, same bytes (bench/baselines/uws-floor.mjs)
 *   hive        Hive Gateway: not installed here (not a dependency); listed so results say so.
 */
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { spawnReady } from "./proc.mjs";
import { edfsSdl, streamgateProviders } from "./brokers.mjs";
import { REPO_ROOT } from "./sys.mjs";
import { VARIANTS } from "./variants.mjs";

// STREAMGATE_CLI runs a fixed build (another worktree's dist) while this dist is being rebuilt.
const CLI = process.env.STREAMGATE_CLI ?? join(REPO_ROOT, "dist/bin/streamgate.js");
const portFromJsonLine = (line) => {
  if (!line.startsWith("{")) return undefined;
  try {
    const e = JSON.parse(line);
    return typeof e.port === "number" && String(e.msg).includes("listening") ? e.port : undefined;
  } catch {
    return undefined;
  }
};

let starts = 0;

/** The other build of a before/after run (STREAMGATE_BASE_CLI), for the `*-base` stacks. */
function baseCli(stack) {
  const cli = process.env.STREAMGATE_BASE_CLI;
  if (!cli) throw new Error(`${stack} needs STREAMGATE_BASE_CLI=<path to another build's cli.js>`);
  return cli;
}

/**
 * Streamgate's config for a run (YAML is JSON's superset: we write JSON). `variant` (a
 * lib/variants.mjs entry) adds its sections (authentication, delivery...) and SDL options.
 */
export function streamgateConfig({
  brokerKind = "nats",
  brokerUrl,
  limits = {},
  heartbeat = "15s",
  workers = 1,
  variant,
  fixture,
}) {
  const config = {
    listen_addr: "127.0.0.1:0",
    playground: false,
    log_level: "info",
    workers,
    shutdown_grace_period: "2s",
    heartbeat_interval: heartbeat,
    subgraphs: [{ name: "events", schema: edfsSdl(brokerKind, variant?.sdl) }],
    events: { providers: streamgateProviders(brokerKind, brokerUrl) },
    limits: {
      connection_init_timeout: "60s",
      max_subscriptions_per_connection: 100,
      // Every generator socket comes from 127.0.0.x: the default (1,000 per address) would refuse
      // all but the first thousand clients with 429.
      max_connections_per_ip: 1_000_000,
      ...limits,
    },
  };
  // JetStream durables are named from the instance id and resume where they were: a fresh id per
  // start keeps one run (or repetition) from inheriting another's position. A respawn after a
  // SIGKILL reuses the file, so it is the same instance, as a restarted router would be.
  if (brokerKind === "jetstream") config.instance_id = `bench-${process.pid}-${++starts}`;
  return variant ? variant.config(config, { brokerKind, fixture }) : config;
}

/** Spawns `node <cli> --config <file>`; resolves with the port from its "listening" line. */
async function spawnStreamgate({ cli, file, cpus, env, nodeArgs }) {
  const child = spawnReady(process.execPath, [...nodeArgs, cli, "--config", file], {
    cpus,
    env,
    name: "streamgate",
    ready: portFromJsonLine,
  });
  return { child, port: await child.value };
}
export const STACKS = {
  streamgate: {
    label: "Streamgate (1 worker)",
    brokers: ["nats", "redis", "kafka", "memory", "jetstream"],
    fdsPerClient: 1,
    async start({
      brokerKind = "nats",
      brokerUrl,
      cpus,
      limits,
      nodeArgs = [],
      env = {},
      cli = CLI,
      workers = 1,
      hookModule,
      variant,
      fixture,
    }) {
      if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
      const dir = await mkdtemp(join(tmpdir(), "streamgate-bench-"));
      const config = streamgateConfig({ brokerKind, brokerUrl, limits, workers, variant, fixture });
      if (hookModule) {
        // A stream hook module beside the config (issue 13's benchmark: the cost of a no-op hook).
        await writeFile(join(dir, "hooks.mjs"), hookModule);
        config.modules = ["./hooks.mjs"];
      }
      const file = join(dir, "streamgate.json");
      await writeFile(file, JSON.stringify(config, null, 2));
      const how = { cli, file, cpus, env, nodeArgs };
      const { child, port } = await spawnStreamgate(how);
      /** Another process on the same config file (same instance_id): after a SIGKILL (scenario herd). */
      const respawn = async () => {
        const again = await spawnStreamgate(how);
        return { ...again, pids: [again.child.pid], config, configFile: file, respawn };
      };
      return { child, pids: [child.pid], port, config, configFile: file, respawn };
    },
  },
  // spec/scale.md: one worker thread per core, on every core (so it shares core 0 with the
  // generator and the broker: compare it with `streamgate` in the same run, not with the floor).
  "streamgate-auto": {
    label: "Streamgate (workers: auto, all cores)",
    brokers: ["nats", "redis", "kafka", "memory", "jetstream"],
    fdsPerClient: 1,
    async start(opts) {
      // The machine's cores, not availableParallelism(): run.mjs pins itself to the load cores
      // first, after which availableParallelism() here says 1, and this stack ran one worker pinned
      // to the generator's core (every streamgate-auto row before 2026-12-03).
      const n = cpus().length;
      return STACKS.streamgate.start({
        ...opts,
        workers: "auto",
        cpus: opts.cpus ? `0-${n - 1}` : undefined,
      });
    },
  },
  // Stream hooks (docs/hooks.md): the same router with a no-op hook module, to compare with
  // `streamgate` in the same run (issue 13: each within 5% of no hook in deliveries/s).
  "streamgate-hook-receive": {
    label: "Streamgate, a no-op onReceiveEvents (once per broker batch)",
    brokers: ["nats", "redis", "kafka", "memory"],
    fdsPerClient: 1,
    start: (opts) =>
      STACKS.streamgate.start({
        ...opts,
        hookModule: "export default { onReceiveEvents(ctx) { return ctx.events; } };\n",
      }),
  },
  "streamgate-hook-deliver": {
    label: "Streamgate, a no-op onDeliver (once per event and resolution group)",
    brokers: ["nats", "redis", "kafka", "memory"],
    fdsPerClient: 1,
    start: (opts) => STACKS.streamgate.start({ ...opts, hookModule: "export default { onDeliver() {} };\n" }),
  },
  // Another build of Streamgate for before/after comparisons in one run (A B A B): build the
  // "before" commit into a copy of dist/ and point STREAMGATE_BASE_CLI at its cli.js.
  "streamgate-base": {
    label: "Streamgate, the build at $STREAMGATE_BASE_CLI (before/after runs)",
    brokers: ["nats", "redis", "kafka", "memory", "jetstream"],
    fdsPerClient: 1,
    start: async (opts) => STACKS.streamgate.start({ ...opts, cli: baseCli("streamgate-base") }),
  },
  "streamgate-auto-base": {
    label: "Streamgate (workers: auto), the build at $STREAMGATE_BASE_CLI",
    brokers: ["nats", "redis", "kafka", "memory", "jetstream"],
    fdsPerClient: 1,
    start: async (opts) => STACKS["streamgate-auto"].start({ ...opts, cli: baseCli("streamgate-auto-base") }),
  },
  ...Object.fromEntries(
    Object.entries(VARIANTS).map(([name, variant]) => [
      name,
      {
        label: variant.label,
        brokers: variant.brokers,
        fdsPerClient: 1,
        variant,
        start: (opts) => STACKS.streamgate.start({ ...opts, variant }),
      },
    ]),
  ),
  "graphql-ws": {
    label: "graphql-ws + ws + graphql-js (baseline 2)",
    brokers: ["nats", "redis", "kafka"],
    fdsPerClient: 1,
    async start({ brokerKind = "nats", brokerUrl, cpus, nodeArgs = [] }) {
      const script = join(REPO_ROOT, "bench/baselines/graphql-ws-server.mjs");
      const args = [...nodeArgs, script, "--broker", brokerKind, "--url", brokerUrl];
      const child = spawnReady(process.execPath, args, {
        cpus,
        name: "graphql-ws baseline",
        ready: portFromJsonLine,
      });
      const port = await child.value;
      return { child, pids: [child.pid], port, config: { script } };
    },
  },
  federated: {
    label: "gateway → subgraph over graphql-ws (baseline 3)",
    brokers: ["nats", "redis", "kafka"],
    // client→gateway and gateway→subgraph sockets in the gateway process
    fdsPerClient: 2,
    async start({ brokerKind = "nats", brokerUrl, cpus, nodeArgs = [] }) {
      const script = join(REPO_ROOT, "bench/baselines/federated-gateway.mjs");
      const args = [...nodeArgs, script, "--broker", brokerKind, "--url", brokerUrl];
      const child = spawnReady(process.execPath, args, {
        cpus,
        name: "federated baseline",
        ready: portFromJsonLine,
      });
      const port = await child.value;
      return { child, pids: [child.pid], port, config: { script, subgraph: "federated-subgraph.mjs" } };
    },
  },
  "uws-floor": {
    label: "bare uWebSockets.js topics (floor)",
    brokers: ["nats", "redis", "kafka"],
    fdsPerClient: 1,
    async start({ brokerKind = "nats", brokerUrl, cpus, limits = {}, nodeArgs = [] }) {
      const script = join(REPO_ROOT, "bench/baselines/uws-floor.mjs");
      const args = [...nodeArgs, script, "--broker", brokerKind, "--url", brokerUrl];
      if (limits.max_backpressure) args.push("--max-backpressure", String(limits.max_backpressure));
      const child = spawnReady(process.execPath, args, { cpus, name: "uws floor", ready: portFromJsonLine });
      const port = await child.value;
      return { child, pids: [child.pid], port, config: { script } };
    },
  },
  hive: {
    label: "Hive Gateway",
    brokers: [],
    skip: "@graphql-hive/gateway is not installed in this repository (not a dependency); not run",
  },
};

export const DEFAULT_STACKS = ["streamgate", "graphql-ws", "federated", "uws-floor"];

/**
 * Brokers the harness can run: Streamgate has a provider for them and we can start a server.
 * Kafka's server is librdkafka's mock cluster (lib/kafka.mjs), the only one that runs here.
 */
export function availableBrokers() {
  const b = ["nats", "jetstream", "memory"];
  if (existsSync(join(REPO_ROOT, "src/providers/redis"))) b.push("redis");
  if (existsSync(join(REPO_ROOT, "src/providers/kafka"))) b.push("kafka");
  return b;
}

/** Why a broker cannot be run (for --help and the results' notes). */
export function brokerTodo() {
  const kafka = existsSync(join(REPO_ROOT, "src/providers/kafka"))
    ? undefined
    : "Kafka: TODO, src/providers/kafka does not exist yet";
  const redis = existsSync(join(REPO_ROOT, "src/providers/redis"))
    ? undefined
    : "Redis: TODO, src/providers/redis does not exist yet";
  return [kafka, redis].filter(Boolean);
}
