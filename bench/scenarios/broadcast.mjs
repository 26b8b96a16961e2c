/**
 * Scenario 2, broadcast: N subscribers on one topic; for each rate, publish for D seconds (at least
 * `--events` events; `--duration 10,5,2` gives one duration per rate), wait for the deliveries to drain, count them against expected. Reports
 * p50/p99/p999/max publish→receive latency from the merged HDR histogram, delivered/expected,
 * deliveries/s, the stack's CPU and the generator's (a saturated generator is flagged).
 */
import { mb, rssSampler, round1, sleep } from "../lib/harness.mjs";
import { publishAtRate, stamp } from "../lib/publisher.mjs";
import { coreWindow, sockstat } from "../lib/sys.mjs";
import { checkCursors, checkStats, drain, generatorCpu, phaseFigures } from "./common.mjs";

export default {
  number: 2,
  name: "broadcast",
  defaults: { clients: 10_000, duration: 10, rates: [1, 10, 100], events: 5 },
  async run(ctx, opts) {
    const connect = await ctx.connect();
    const failures = [];
    const phases = [];
    let seq = 1;
    if (!connect.allLive) failures.push(`only ${connect.live}/${opts.clients} subscriptions became live`);
    const prof = await ctx.profileWindow();
    for (const [i, rate] of opts.rates.entries()) {
      const duration = opts.durations?.[i] ?? opts.duration;
      await ctx.gen.all("reset");
      await sleep(500);
      const count = Math.max(opts.events, Math.round(rate * duration));
      const expected = count * opts.clients;
      const sampler = rssSampler(ctx.pids, 250);
      const cpu = ctx.measureCpu();
      const gcpu = generatorCpu();
      const cores = coreWindow();
      const t0 = stamp();
      const pubResult = await publishAtRate(ctx.pub, { topics: ctx.topics, rate, count, seq0: seq });
      seq += count;
      const got = await drain(ctx.gen, expected, { stallMs: 5000, maxMs: opts.drainTimeoutMs });
      const routerCpu = cpu.stop();
      const genCpu = gcpu.stop();
      const coreUse = cores.stop();
      const mem = sampler.stop();
      const exp = Object.fromEntries(ctx.topics.map((t) => [t, count]));
      const stats = await ctx.gen.stats(exp);
      const span = (stats.lastRecv - t0) / 1000;
      const phaseFailures = [
        ...checkStats(stats, `${rate} ev/s`),
        ...checkCursors(ctx, stats, `${rate} ev/s`),
      ];
      if (got < expected) phaseFailures.push(`${rate} ev/s: delivered ${stats.received}/${expected}`);
      failures.push(...phaseFailures);
      phases.push({
        rate,
        durationS: duration,
        events: count,
        achievedPublishRate: round1(pubResult.achievedRate),
        expected,
        delivered: stats.received,
        missing: expected - stats.received,
        deliveriesPerSec: span > 0 ? Math.round(stats.received / span) : 0,
        // Deliveries per CPU-second of the stack: what one fully busy core would sustain if the
        // generator kept up (an extrapolation, labelled as such in the results).
        deliveriesPerCpuSec:
          routerCpu.cpuSeconds > 0 ? Math.round(stats.received / routerCpu.cpuSeconds) : null,
        latencyMs: stats.latency,
        ...phaseFigures({ stackCpu: routerCpu, genCpu, opts, coreUse, mem, stats }),
        ok: phaseFailures.length === 0,
      });
    }
    await prof.stop("broadcast");
    const sock = sockstat();
    return {
      failures,
      figures: {
        clients: opts.clients,
        ...connect,
        rssEmptyMB: mb(ctx.rssEmpty),
        rssMB: mb(ctx.rss()),
        socketMemTotalMB: sock ? mb(sock.tcpMemBytes) : null,
        phases,
      },
    };
  },
};
