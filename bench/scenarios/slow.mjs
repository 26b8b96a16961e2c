/**
 * Scenario 6, slow consumers: N subscribers on one topic; 10% stop reading (socket paused) once
 * live; the others get `--rate` events/s of ~`--payload` bytes for D seconds. Reports the healthy
 * clients' latency and delivered/expected, the stack's RSS bound (max over the run), and for the
 * slow clients: received after resuming, drops (expected − received) and how many were closed.
 * Streamgate runs with `limits.max_backpressure` and `limits.slow_client_policy` from the options;
 * the floor with the same uWS maxBackpressure; the graphql-ws baselines have no such bound.
 */
import { mb, rssSampler, round1, sleep } from "../lib/harness.mjs";
import { padding, publishAtRate, stamp } from "../lib/publisher.mjs";
import { coreWindow } from "../lib/sys.mjs";
import { checkStats, drain, generatorCpu } from "./common.mjs";

export default {
  number: 6,
  name: "slow",
  defaults: { clients: 10_000, duration: 10, rate: 100, payload: 1024, slowFraction: 0.1 },
  async run(ctx, opts) {
    const failures = [];
    const connect = await ctx.connect();
    if (!connect.allLive) failures.push(`only ${connect.live}/${opts.clients} subscriptions became live`);
    const paused = (await ctx.gen.all("pause", { fraction: opts.slowFraction })).reduce(
      (s, r) => s + r.paused,
      0,
    );
    const healthy = opts.clients - paused;
    await ctx.gen.all("reset");
    const count = Math.round(opts.rate * opts.duration);
    const expectedHealthy = count * healthy;
    const sampler = rssSampler(ctx.pids, 250);
    const cpu = ctx.measureCpu();
    const gcpu = generatorCpu();
    const cores = coreWindow();
    const t0 = stamp();
    const pubResult = await publishAtRate(ctx.pub, {
      topics: ctx.topics,
      rate: opts.rate,
      count,
      seq0: 1,
      pad: padding(opts.payload),
    });
    const got = await drain(ctx.gen, expectedHealthy, { stallMs: 5000, maxMs: opts.drainTimeoutMs });
    const routerCpu = cpu.stop();
    const genCpu = gcpu.stop();
    const coreUse = cores.stop();
    const rssBeforeResume = ctx.rss();
    await ctx.gen.all("resume");
    await drain(ctx.gen, count * paused, { stallMs: 3000, maxMs: 60_000, field: "slowReceived" });
    await sleep(500);
    const mem = sampler.stop();
    const stats = await ctx.gen.stats(Object.fromEntries(ctx.topics.map((t) => [t, count])));
    const span = (stats.lastRecv - t0) / 1000;
    failures.push(...checkStats(stats, "healthy clients"));
    if (got < expectedHealthy)
      failures.push(`healthy clients: delivered ${stats.received}/${expectedHealthy}`);
    return {
      failures,
      figures: {
        clients: opts.clients,
        ...connect,
        slowClients: paused,
        healthyClients: healthy,
        events: count,
        payloadBytes: opts.payload,
        achievedPublishRate: round1(pubResult.achievedRate),
        healthyExpected: expectedHealthy,
        healthyDelivered: stats.received,
        healthyDeliveriesPerSec: span > 0 ? Math.round(stats.received / span) : 0,
        healthyLatencyMs: stats.latency,
        slowExpected: count * paused,
        slowReceived: stats.slowReceived,
        slowDropped: stats.slowMissing,
        slowClosed: stats.slowClosed,
        healthyClosed: stats.healthyClosed,
        closes: stats.closes,
        rssEmptyMB: mb(ctx.rssEmpty),
        rssMaxMB: mb(mem.maxRss),
        rssBeforeResumeMB: mb(rssBeforeResume),
        socketMemMaxMB: mb(mem.maxSocketMem),
        routerCpuPct: round1(routerCpu.percent),
        routerKernelCpuPct: round1(routerCpu.sysPercent),
        routerRunQueueWaitPct: round1(routerCpu.runQueueWaitPercent),
        generatorCpuPct: round1(genCpu.percent),
        generatorSaturated: genCpu.percent > 90 * opts.loadCores,
        coreUse,
      },
    };
  },
};
