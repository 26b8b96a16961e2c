/**
 * Scenario 5, churn: N clients connected; `--rate` unsubscribe+subscribe cycles per second on random
 * clients for D seconds (each cycle is a `complete` and a `subscribe` with a new id: 2 operations);
 * then every subscription must be live exactly once (a check event reaches each client once).
 * Then drop every client at once (no close handshake) and reconnect them all: time to 95% and 100%
 * reconnected (acked) and live, and whether RSS comes back to the pre-churn baseline.
 */
import { percentileOf } from "../lib/generator.mjs";
import { mb, rssSampler, round1, sleep } from "../lib/harness.mjs";
import { publishAtRate, warmUp } from "../lib/publisher.mjs";
import { checkStats, drain } from "./common.mjs";

async function checkDelivery(ctx, opts, seq, label) {
  await ctx.gen.all("reset");
  const count = 3;
  await publishAtRate(ctx.pub, { topics: ctx.topics, rate: 5, count, seq0: seq });
  const expected = count * opts.clients;
  await drain(ctx.gen, expected, { stallMs: 3000, maxMs: opts.drainTimeoutMs });
  await sleep(500); // duplicates (a leaked subscription) would arrive now
  const stats = await ctx.gen.stats(Object.fromEntries(ctx.topics.map((t) => [t, count])));
  const failures = checkStats(stats, label);
  if (stats.received !== expected) failures.push(`${label}: delivered ${stats.received}/${expected}`);
  return { failures, delivered: stats.received, expected, latencyMs: stats.latency };
}

export default {
  number: 5,
  name: "churn",
  defaults: { clients: 10_000, duration: 20, rate: 500 },
  async run(ctx, opts) {
    const failures = [];
    const connect = await ctx.connect();
    if (!connect.allLive) failures.push(`only ${connect.live}/${opts.clients} subscriptions became live`);
    await sleep(3000);
    const rssBase = ctx.rss();

    // Phase 1: subscribe/unsubscribe churn.
    const sampler = rssSampler(ctx.pids, 500);
    const cpu = ctx.measureCpu();
    const cycles = Math.round(opts.rate * opts.duration);
    const per = Math.ceil(cycles / ctx.gen.workers.length);
    const res = await ctx.gen.all("churn", {
      cycles: per,
      durationMs: opts.duration * 1000,
      query: ctx.query,
    });
    const churnCpu = cpu.stop();
    const done = res.reduce((s, r) => s + r.cycles, 0);
    const secs = Math.max(...res.map((r) => r.ms)) / 1000;
    const warmAfterChurn = await warmUp(ctx.pub, ctx.gen, {
      topics: ctx.topics,
      expect: opts.clients,
      timeoutMs: opts.warmupTimeoutMs,
    });
    if (!warmAfterChurn.ok) failures.push(`after churn only ${warmAfterChurn.warm}/${opts.clients} live`);
    const check1 = await checkDelivery(ctx, opts, 1_000_000, "after churn");
    failures.push(...check1.failures);
    const churnMem = sampler.stop();
    const rssAfterChurn = ctx.rss();

    // Phase 2: drop everyone, reconnect everyone.
    await ctx.gen.all("dropAll");
    await sleep(3000);
    const rssDropped = ctx.rss();
    const t0 = performance.timeOrigin + performance.now();
    const rcpu = ctx.measureCpu();
    const rec = await ctx.gen.all("reconnect", {
      url: ctx.url,
      query: ctx.query,
      concurrency: opts.concurrency,
      t0,
    });
    const acks = rec
      .flatMap((r) => r.acks)
      .filter((x) => x >= 0)
      .sort((a, b) => a - b);
    const warm = await warmUp(ctx.pub, ctx.gen, {
      topics: ctx.topics,
      expect: opts.clients,
      timeoutMs: opts.warmupTimeoutMs,
    });
    const liveMs = performance.timeOrigin + performance.now() - t0;
    const reconnectCpu = rcpu.stop();
    if (acks.length < opts.clients) failures.push(`reconnect: only ${acks.length}/${opts.clients} acked`);
    if (!warm.ok) failures.push(`reconnect: only ${warm.warm}/${opts.clients} live`);
    const check2 = await checkDelivery(ctx, opts, 2_000_000, "after reconnect");
    failures.push(...check2.failures);
    await sleep(5000);
    const rssAfter = ctx.rss();
    return {
      failures,
      figures: {
        clients: opts.clients,
        ...connect,
        churnCyclesRequestedPerSec: opts.rate,
        churnCycles: done,
        churnOpsPerSec: Math.round((2 * done) / secs),
        churnCpuPct: round1(churnCpu.percent),
        churnRssMaxMB: mb(churnMem.maxRss),
        afterChurnDelivered: `${check1.delivered}/${check1.expected}`,
        reconnect95Ms: Math.round(percentileOf(acks, 95) ?? 0),
        reconnect100Ms: Math.round(acks[acks.length - 1] ?? 0),
        reconnectLiveMs: Math.round(liveMs),
        reconnectRate: acks.length ? Math.round(acks.length / (acks[acks.length - 1] / 1000)) : 0,
        reconnectCpuPct: round1(reconnectCpu.percent),
        afterReconnectDelivered: `${check2.delivered}/${check2.expected}`,
        rssEmptyMB: mb(ctx.rssEmpty),
        rssBaseMB: mb(rssBase),
        rssAfterChurnMB: mb(rssAfterChurn),
        rssDroppedMB: mb(rssDropped),
        rssAfterReconnectMB: mb(rssAfter),
        rssBackRatio: Math.round((rssAfter / rssBase) * 1000) / 1000,
      },
    };
  },
};
