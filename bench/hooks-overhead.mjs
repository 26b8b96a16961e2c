// In-process cost of stream hooks on the fan-out path (issue 13), next to the socket benchmark
// (`npm run bench -- broadcast --stack streamgate,streamgate-hook-receive,streamgate-hook-deliver`):
// the built engine on the embedded broker, N in-process subscribers of one operation (a sink that
// only counts), E events, with no hook, a no-op onReceiveEvents and a no-op onDeliver per group,
// interleaved A B C A B C. No sockets: the figure is the router's own CPU per event, an upper
// bound of what hooks add (a real delivery also pays a send(2) per client, ~5-8 µs each here).
//
//   npm run build && node --expose-gc bench/hooks-overhead.mjs [--subscribers 10000] [--events 2000] [--rounds 5]
import { parseArgs } from "node:util";
import { configFromObject } from "../dist/config/loader.js";
import { Engine } from "../dist/engine/engine.js";
import { anonymous } from "../dist/engine/types.js";
import { HookSet } from "../dist/hooks/hooks.js";
import { createLogger } from "../dist/observability/logger.js";
import { createProviders } from "../dist/providers/factory.js";
import { loadSupergraph } from "../dist/schema/supergraph.js";

const { values } = parseArgs({
  options: {
    subscribers: { type: "string", default: "10000" },
    events: { type: "string", default: "2000" },
    rounds: { type: "string", default: "5" },
  },
});
const SUBSCRIBERS = Number(values.subscribers);
const EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);

const SDL = `type Subscription { employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"]) }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }`;
const SUB = "subscription($id: ID!) { employeeUpdated(id: $id) { __typename id } }";
const logger = createLogger("silent");

const VARIANTS = {
  "no hook": undefined,
  "no-op onReceiveEvents": { onReceiveEvents: (ctx) => ctx.events },
  "no-op onDeliver (per group)": {
    onDeliver: { scope: "group", groupBy: undefined, handler: () => undefined },
  },
};

async function run(hooks) {
  const config = configFromObject(
    { events: { providers: { nats: [{ id: "default", url: "memory://" }] } } },
    { env: {} },
  );
  const providers = await createProviders(config.events, "bench");
  for (const p of providers.values()) await p.start();
  const set = hooks
    ? new HookSet([{ label: "bench.mjs", file: "/bench.mjs", hooks }], {
        config: config.hooks,
        maxBytes: 1 << 20,
        logger,
      })
    : undefined;
  const engine = new Engine(
    await loadSupergraph([{ name: "events", schema: SDL }]),
    providers,
    { requestTimeoutMs: 1000, subgraphTimeoutMs: 1000, ...(set ? { hooks: set } : {}) },
    logger,
  );
  let delivered = 0;
  // One sink per subscriber (a group holds each once), doing nothing but count.
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const sink = { next: () => void delivered++, error: () => {}, complete: () => {} };
    engine.execute({ query: SUB, variables: { id: "1" } }, sink, anonymous());
  }
  await new Promise((r) => setTimeout(r, 50));
  const nats = providers.get("default");
  const body = new TextEncoder().encode('{"id":"1"}');
  const expected = SUBSCRIBERS * EVENTS;
  // Subscribing made garbage: collect it now, so the window measures the events only.
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // One event per loop turn, like a broker delivering at a steady rate.
  for (let e = 0; e < EVENTS; e++) {
    await nats.publish("employeeUpdated.1", body);
    await new Promise((r) => setImmediate(r));
  }
  const deadline = Date.now() + 60_000;
  while (delivered < expected) {
    if (Date.now() > deadline) throw new Error(`only ${delivered}/${expected} deliveries`);
    await new Promise((r) => setImmediate(r));
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  for (const p of providers.values()) await p.stop();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const results = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
await run(undefined); // warm-up (JIT)
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, hooks] of Object.entries(VARIANTS)) results[name].push(await run(hooks));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(results["no hook"].map((x) => x.cpuMs));
console.log(
  `${SUBSCRIBERS} in-process subscribers of one operation, ${EVENTS} events, ${ROUNDS} rounds interleaved (medians)`,
);
for (const [name, xs] of Object.entries(results)) {
  const cpu = median(xs.map((x) => x.cpuMs));
  const extraUsPerEvent = ((cpu - base) * 1000) / EVENTS;
  console.log(
    `  ${name.padEnd(28)} CPU ${cpu.toFixed(0)} ms` +
      (name === "no hook"
        ? `  (${((cpu * 1e6) / (SUBSCRIBERS * EVENTS)).toFixed(1)} ns per in-process delivery)`
        : `  +${extraUsPerEvent.toFixed(0)} µs per event`),
  );
}
