/**
 * Scenario 3, sharded: N clients spread over k topics (`--topics`, client i on topic i mod k, so
 * fan-out N/k), events spread round robin over the topics. The total event rate ramps in steps,
 * doubling from `--rate` up to `--max-rate`, each step `--duration` seconds then drained, until a
 * step fails: p99 above `--p99-limit` ms, any delivery missing (or duplicate, or out of order, or an
 * error frame or close), or the publisher falling behind the rate (achieved < 95%).
 *
 * Reports per stack the last step that passed (max sustained events/s and deliveries/s, and both
 * per core: divided by the stack's CPU-seconds over the step), p50/p99 of every step, the stack's
 * and the generator's CPU, the deliveries still outstanding when publishing stopped, and broker
 * lag where there is one to read (see `lagMeasure`). The step that ended the ramp is the expected
 * end of a ramp, not a failure of the run; the run fails when no step passed or set-up failed.
 */
import { mb, rssSampler, round1, sleep } from "../lib/harness.mjs";
import { publishSpread, stamp } from "../lib/publisher.mjs";
import { coreWindow } from "../lib/sys.mjs";
import { checkCursors, checkStats, drain, generatorCpu, phaseFigures } from "./common.mjs";

/** A step passes only if the publisher achieved this share of its rate. */
const PUBLISH_RATE_FLOOR = 0.95;

/** Clients on each topic: client i subscribes to topics[i % k] (lib/gen-worker.mjs). */
function clientsPerTopic(topics, clients) {
  const k = topics.length;
  return Object.fromEntries(topics.map((t, j) => [t, Math.floor(clients / k) + (j < clients % k ? 1 : 0)]));
}

/**
 * What "broker lag" means for this stack and broker. Only Streamgate's Kafka provider exposes a
 * consumer position (its `streamgate_provider_lag` gauge: high watermark − position over the
 * assigned partitions); the baselines' Kafka consumer has no endpoint to read it from.
 */
function lagMeasure(brokerKind, stackName) {
  if (brokerKind === "kafka")
    return stackName.startsWith("streamgate")
      ? "Kafka consumer lag (records), Streamgate's streamgate_provider_lag from /metrics, read when publishing stopped"
      : "not measured: this stack's Kafka consumer exposes no position";
  if (brokerKind === "nats")
    return "none: NATS core keeps no consumer position (a subscriber that falls behind is cut off as a slow consumer, which shows as loss)";
  if (brokerKind === "redis") return "none: Redis pub/sub keeps no consumer position";
  return "none: the embedded broker hands events over in process";
}

/** Streamgate's Kafka consumer lag from its Prometheus endpoint (null when absent). */
async function scrapeKafkaLag(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    const m = /^streamgate_provider_lag\{[^}]*kind="kafka"[^}]*\} (\d+(?:\.\d+)?)/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Why a step failed, in words; empty when it passed. */
function stepReasons({ rate, stats, expected, p99Limit, achievedRate, pubErrors }) {
  const reasons = checkStats(stats, `${rate} ev/s`);
  if (stats.received < expected) reasons.push(`${rate} ev/s: delivered ${stats.received}/${expected}`);
  if (stats.received > expected)
    reasons.push(`${rate} ev/s: ${stats.received - expected} deliveries too many`);
  const p99 = stats.latency?.p99;
  if (p99 !== undefined && p99 > p99Limit) reasons.push(`${rate} ev/s: p99 ${p99} ms > ${p99Limit} ms`);
  if (achievedRate < PUBLISH_RATE_FLOOR * rate)
    reasons.push(`${rate} ev/s: publisher achieved only ${round1(achievedRate)} ev/s`);
  if (pubErrors > 0) reasons.push(`${rate} ev/s: publisher refused ${pubErrors} events`);
  return reasons;
}

/**
 * What probably bounded a failed step, with the figures it is guessed from (a heuristic): the
 * publisher when it fell behind, else the busier of the stack's core (its CPU plus the time it
 * waited for the core) and the load core(s) the generator, publisher and broker share.
 */
function limitedBy(step, loadCores) {
  if (step.achievedPublishRate < PUBLISH_RATE_FLOOR * step.rate) return "publisher behind";
  const stack = (step.routerCpuPct ?? 0) + (step.routerRunQueueWaitPct ?? 0);
  // The stack has the last core, cpu<loadCores> (lib/sys.mjs coreLayout); the others are the load's.
  const loadBusy = Object.entries(step.coreUse ?? {})
    .filter(([cpu]) => cpu !== `cpu${loadCores}`)
    .map(([, u]) => u.busy);
  const load = loadBusy.length > 0 ? Math.min(...loadBusy) : 0;
  const figures = `stack ${step.routerCpuPct}% CPU + ${step.routerRunQueueWaitPct}% waiting, generator ${step.generatorCpuPct}%, load core(s) ${load}% busy`;
  const guess = stack >= 90 ? "stack" : load >= 95 ? "load side" : "unclear, no core saturated";
  return `${guess} (${figures})`;
}

async function runStep(ctx, opts, { rate, seq0, start, perTopicClients }) {
  await ctx.gen.all("reset");
  await sleep(300);
  const pubErrors0 = ctx.pub.errors ?? 0;
  const sampler = rssSampler(ctx.pids, 250);
  const cpu = ctx.measureCpu();
  const gcpu = generatorCpu();
  const cores = coreWindow();
  const t0 = stamp();
  const pub = await publishSpread(ctx.pub, {
    topics: ctx.topics,
    rate,
    seconds: opts.duration,
    seq0,
    start,
  });
  const expected = Object.entries(pub.perTopic).reduce((s, [t, n]) => s + n * perTopicClients[t], 0);
  // How far behind delivery was when the last event had been published (and flushed).
  const outstanding = expected - (await ctx.gen.count()).received;
  const lag =
    ctx.brokerKind === "kafka" && ctx.stackName.startsWith("streamgate")
      ? await scrapeKafkaLag(ctx.started.port)
      : null;
  const got = await drain(ctx.gen, expected, { stallMs: 5000, maxMs: opts.drainTimeoutMs });
  const stackCpu = cpu.stop();
  const genCpu = gcpu.stop();
  const coreUse = cores.stop();
  const mem = sampler.stop();
  await sleep(200); // duplicates would land now
  const stats = await ctx.gen.stats(pub.perTopic);
  const span = (stats.lastRecv - t0) / 1000;
  const pubErrors = (ctx.pub.errors ?? 0) - pubErrors0;
  const reasons = [
    ...stepReasons({
      rate,
      stats,
      expected,
      p99Limit: opts.p99Limit,
      achievedRate: pub.achievedRate,
      pubErrors,
    }),
    ...checkCursors(ctx, stats, `${rate} ev/s`),
  ];
  if (got < expected && !reasons.some((r) => r.includes("delivered")))
    reasons.push(`${rate} ev/s: delivered ${got}/${expected}`);
  const cpuSecs = stackCpu.cpuSeconds;
  return {
    rate,
    durationS: opts.duration,
    events: pub.events,
    achievedPublishRate: round1(pub.achievedRate),
    publishMaxLateMs: round1(pub.maxLateMs),
    publisherErrors: pubErrors,
    expected,
    delivered: stats.received,
    missing: expected - stats.received,
    deliveriesPerSec: span > 0 ? Math.round(stats.received / span) : 0,
    latencyMs: stats.latency,
    outstandingAtPublishEnd: outstanding,
    brokerLag: lag,
    ...phaseFigures({ stackCpu, genCpu, opts, coreUse, mem, stats }),
    stackCpuSeconds: Math.round(cpuSecs * 100) / 100,
    // Per core = per stack CPU-second over the step (= per second ÷ cores used).
    eventsPerCore: cpuSecs > 0 ? Math.round(pub.events / cpuSecs) : null,
    deliveriesPerCore: cpuSecs > 0 ? Math.round(stats.received / cpuSecs) : null,
    ok: reasons.length === 0,
    reasons,
  };
}

export default {
  number: 3,
  name: "sharded",
  defaults: { clients: 10_000, topics: 1000, duration: 5, rate: 500, maxRate: 256_000, p99Limit: 100 },
  async run(ctx, opts) {
    const failures = [];
    const connect = await ctx.connect();
    const perTopicClients = clientsPerTopic(ctx.topics, opts.clients);
    const base = {
      clients: opts.clients,
      topics: ctx.topics.length,
      fanout: round1(opts.clients / ctx.topics.length),
      p99LimitMs: opts.p99Limit,
      lagMeasure: lagMeasure(ctx.brokerKind, ctx.stackName),
      ...connect,
      rssEmptyMB: mb(ctx.rssEmpty),
    };
    if (!connect.allLive) {
      failures.push(`only ${connect.live}/${opts.clients} subscriptions became live`);
      return { failures, figures: { ...base, steps: [] } };
    }
    const steps = [];
    let seq = 1;
    for (let rate = opts.rate; rate <= opts.maxRate; rate *= 2) {
      const step = await runStep(ctx, opts, { rate, seq0: seq, start: seq - 1, perTopicClients });
      seq += step.events;
      steps.push(step);
      process.stderr.write(
        `[bench sharded] ${ctx.stackName} ${rate} ev/s: ${step.ok ? "ok" : "stop"} p99 ${step.latencyMs?.p99 ?? "–"} ms, ${step.deliveriesPerSec} deliveries/s, stack CPU ${step.routerCpuPct}%\n`,
      );
      if (!step.ok) break;
    }
    const passed = steps.filter((s) => s.ok);
    const best = passed[passed.length - 1];
    const stopStep = steps.find((s) => !s.ok);
    if (!best) failures.push(`no step passed (first: ${stopStep?.reasons.join("; ") ?? "none run"})`);
    return {
      failures,
      figures: {
        ...base,
        startRate: opts.rate,
        maxRate: opts.maxRate,
        stepSeconds: opts.duration,
        maxSustainedEventsPerSec: best?.rate ?? null,
        maxSustained: best ?? null,
        stoppedAt: stopStep
          ? { rate: stopStep.rate, reasons: stopStep.reasons, limitedBy: limitedBy(stopStep, opts.loadCores) }
          : { rate: null, reasons: [`ramp reached --max-rate ${opts.maxRate} without failing`] },
        rssMB: mb(ctx.rss()),
        steps,
      },
    };
  },
};
