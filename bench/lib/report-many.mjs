/**
 * Summary rows and targets of bench/many.mjs's two runs (issue 16): `many-instances` and
 * `ceiling`. The summary has the other scenarios' shape ({stack: {runs, passed, median}}) so
 * lib/report.mjs renders it into results/README.md with the generic table. MB here are MiB
 * (2^20 bytes), as everywhere in bench/.
 */
import { median, round1 } from "./harness.mjs";

/** The flat figures of one many-instances run (one row of the table). */
function manyRow(f) {
  const m = f.memory;
  const p99s = f.events.map((e) => e.latencyMs?.p99 ?? null);
  return {
    clients: f.clients,
    instances: f.instances,
    allAckedS: f.connect.allAckedS,
    allLiveS: f.connect.allLiveS,
    emptySumRssMB: m.empty.sumRssMB,
    burstSumRssMB: m.afterBurst.sumRssMB,
    burstSumPeakMB: m.afterBurst.sumPeakMB,
    burstMaxSumRssMB: m.maxSumRssDuringBurstMB,
    settledSumRssMB: m.settled.sumRssMB,
    settledSumSharedOnceMB: m.settled.sumSharedOnceMB,
    settledSumPssMB: m.settled.sumPssMB,
    settledSumAnonymousMB: m.settled.sumAnonymousMB,
    settledPerClientKiB: round1(((m.settled.sumRssMB - m.empty.sumRssMB) * 1024) / f.clients),
    brokerSubscriptions: f.broker.matchingSubscriptions,
    delivered: f.allEvents.delivered,
    // Every client of the run, those that never connected too.
    expected: f.clients * f.events.length,
    p50: f.allEvents.latencyMs?.p50 ?? null,
    p99: f.allEvents.latencyMs?.p99 ?? null,
    max: f.allEvents.latencyMs?.max ?? null,
    worstEventP99: p99s.some((x) => x === null) ? null : Math.max(...p99s),
    fanoutRoutersCpuS: median(f.events.map((e) => e.routersCpuS)),
    fanoutGeneratorCpuS: median(f.events.map((e) => e.generatorCpuS)),
    idleRoutersCpuPct: f.idle.routersCpuPct,
  };
}

function ceilingRow(f) {
  return {
    maxClientsHeld: f.maxClientsHeld,
    routerFdsAtLimit: f.routerFdsAtLimit,
    routerFdsMax: f.routerFdsMax ?? null,
    fdLimitSoft: f.openFilesLimitKernel?.soft ?? null,
    rssAtLimitMB: f.memory.atLimit.sumRssMB,
    rssPerClientKiB: f.rssPerClientKiB,
    routerCpuAtLimitPct: f.routerCpuAtLimitPct,
    eventDeliveredAtLimit: f.eventAtLimit.delivered,
    readyAtLimit: f.readyAtLimit.status ?? f.readyAtLimit.error,
    readyAfter: f.readyAfterClientsLeft.status ?? f.readyAfterClientsLeft.error,
  };
}

export function summarizeMany(name, runs) {
  const out = {};
  for (const r of runs) {
    out[r.stack] = {
      runs: 1,
      passed: r.status === "PASSED" ? 1 : 0,
      median: r.figures ? (name === "ceiling" ? ceilingRow(r.figures) : manyRow(r.figures)) : {},
      ...(name === "ceiling" && r.figures ? { stoppedBy: r.figures.stoppedBy } : {}),
    };
  }
  return out;
}

/** Issue 16's targets, on the Streamgate row (the first streamgate* stack of the run). */
export function manyTargets(name, summary, opts) {
  const stack = Object.keys(summary).find((s) => s.startsWith("streamgate"));
  const s = stack ? summary[stack] : undefined;
  if (!s?.median || Object.keys(s.median).length === 0) return [];
  const m = s.median;
  if (name === "ceiling") {
    // The fd limit stops it either directly, or through a max_connections fitted under it (the
    // router's own advice: soft limit minus 256 descriptors kept for brokers and probes).
    const byFds = /^the router's open-file limit/.test(s.stoppedBy ?? "");
    const fitted =
      /max_connections/.test(s.stoppedBy ?? "") &&
      typeof m.fdLimitSoft === "number" &&
      m.maxClientsHeld >= m.fdLimitSoft - 256;
    const healthy = m.readyAfter === 200 && m.eventDeliveredAtLimit === m.maxClientsHeld && m.maxClientsHeld > 0;
    return [
      {
        figure: "what limits one router: the open-file limit, not the router",
        target: "stopped by the fd limit (or max_connections = soft − 256), every held client gets an event, /health/ready 200 afterwards",
        measured: `${m.maxClientsHeld} held; router fds at most ${m.routerFdsMax} of ${m.fdLimitSoft}`,
        met: (byFds || fitted) && healthy,
        by: `${s.stoppedBy}; /health/ready at the limit: ${m.readyAtLimit}, after 100 left: ${m.readyAfter}; router CPU at the limit ${m.routerCpuAtLimitPct}%`,
      },
    ];
  }
  const scale = `${m.clients.toLocaleString("en-US")} clients over ${m.instances} instances`;
  const full = opts.clients === 100_000 && opts.instances === 6;
  const note = full ? "" : " (the target is for 100,000 over 6: not this run's size)";
  return [
    {
      figure: `summed settled RSS, ${scale}, MiB`,
      target: "≤ 512 MiB (100k over 6)",
      measured: m.settledSumRssMB,
      met: full ? m.settledSumRssMB <= 512 : null,
      by: `${round1(m.settledSumRssMB / 512)}× the target; with the shared code counted once ${m.settledSumSharedOnceMB} MiB; empty instances ${m.emptySumRssMB} MiB${note}`,
    },
    {
      figure: `one event to all clients, p99 over ${opts.events} events, ms`,
      target: "≤ 500 ms (100k over 6)",
      measured: m.p99,
      met: full && m.p99 !== null ? m.p99 <= 500 : null,
      by: `worst single event p99 ${m.worstEventP99} ms; ${round1(m.p99 / 500)}× the target${note}`,
    },
    {
      figure: "every event reached every client",
      target: `${m.expected} deliveries`,
      measured: m.delivered,
      met: m.delivered === m.expected,
    },
    {
      figure: "broker subscriptions to the subject",
      target: `one per instance (${m.instances})`,
      measured: m.brokerSubscriptions,
      met: m.brokerSubscriptions === m.instances,
    },
  ];
}
