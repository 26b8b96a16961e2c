/**
 * Scenario 1, idle: N clients, one subscription each, held D seconds. Reports the stack's RSS (total
 * and per client), kernel socket memory, idle CPU over the hold, and the connect rate.
 */
import { mb, rssSampler, round1, sleep } from "../lib/harness.mjs";
import { readFileSync } from "node:fs";
import { smapsRollup, sockstat, tree } from "../lib/sys.mjs";

/**
 * VmHWM summed over the stack's processes: the most RSS each ever held, which for a stack started
 * for this run is the connect burst (the RSS sampler starts only after connecting).
 */
function peakRss(pids) {
  let total = 0;
  for (const pid of tree(pids)) {
    try {
      const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      total += Number(kb ?? 0) * 1024;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}
import { checkStats, generatorCpu } from "./common.mjs";

export default {
  number: 1,
  name: "idle",
  defaults: { clients: 10_000, duration: 60 },
  async run(ctx, opts) {
    const sock0 = sockstat();
    if (opts.heapSnapshot) await ctx.heapSnapshot("empty");
    // Two halves: the RSS slope between N/2 and N clients is the per-client cost, free of the
    // start-up heap that "RSS before connecting" still carries until V8 collects it.
    const half = Math.floor(opts.clients / 2);
    const c1 = await ctx.connect(half, 0);
    await sleep(2000);
    const rssHalf = ctx.rss();
    const c2 = await ctx.connect(opts.clients - half, half);
    const connect = {
      ...c2,
      clients: opts.clients,
      acked: c1.acked + c2.acked,
      failed: c1.failed + c2.failed,
      connectMs: c1.connectMs + c2.connectMs,
      connectRate: Math.round(((c1.acked + c2.acked) * 1000) / Math.max(1, c1.lastAckMs + c2.lastAckMs)),
      ack95Ms: undefined,
      readyMs: c1.readyMs + c2.readyMs,
      routerCpuDuringConnectPct: round1((c1.routerCpuDuringConnectPct + c2.routerCpuDuringConnectPct) / 2),
    };
    await sleep(2000); // let connect-time garbage settle before the idle window
    // Same delay after connecting as rssHalf: the slope compares like with like (V8 returns
    // connect-time pages over the following minute, so RSS after the hold is lower).
    const rssFullEarly = ctx.rss();
    const sampler = rssSampler(ctx.pids, 1000);
    const prof = await ctx.profileWindow();
    const cpu = ctx.measureCpu();
    const gcpu = generatorCpu();
    await sleep(opts.duration * 1000);
    await prof.stop("idle");
    const idleCpu = cpu.stop();
    const genCpu = gcpu.stop();
    const mem = sampler.stop();
    const rss = ctx.rss();
    const sock = sockstat();
    const status = await ctx.gen.status();
    const stats = await ctx.gen.stats({});
    const smaps = smapsRollup(ctx.pids[0]);
    const hwm = peakRss(ctx.pids);
    if (opts.heapSnapshot) await ctx.heapSnapshot(`${opts.clients}-idle`);
    const failures = checkStats({ ...stats, missingClients: 0 }, "idle");
    if (connect.acked !== opts.clients)
      failures.push(`only ${connect.acked}/${opts.clients} connections acked`);
    if (!connect.allLive) failures.push(`only ${connect.live}/${opts.clients} subscriptions became live`);
    if (status.open !== opts.clients)
      failures.push(`${opts.clients - status.open} connections closed while idle`);
    return {
      failures,
      figures: {
        clients: opts.clients,
        ...connect,
        rssEmptyMB: mb(ctx.rssEmpty),
        rssMB: mb(rss),
        rssMaxMB: mb(mem.maxRss),
        rssPeakHwmMB: mb(hwm),
        rssHalfMB: mb(rssHalf),
        rssPerClientKiB: round1((rss - ctx.rssEmpty) / opts.clients / 1024),
        rssFullEarlyMB: mb(rssFullEarly),
        rssSlopePerClientKiB: round1((rssFullEarly - rssHalf) / (opts.clients - half) / 1024),
        rssTotalPerClientKiB: round1(rss / opts.clients / 1024),
        anonymousMB: smaps ? mb(smaps.anonymous) : null,
        fileBackedMB: smaps ? mb(smaps.sharedClean + smaps.privateClean) : null,
        socketMemMB: sock && sock0 ? mb(sock.tcpMemBytes - sock0.tcpMemBytes) : null,
        socketMemTotalMB: sock ? mb(sock.tcpMemBytes) : null,
        idleCpuPct: round1(idleCpu.percent),
        idleKernelCpuPct: round1(idleCpu.sysPercent),
        idleWindowS: round1(idleCpu.seconds),
        generatorCpuPct: round1(genCpu.percent),
      },
    };
  },
};
