/**
 * Scenario 3 (sharded) in the results: its headline figures, targets and Markdown tables. Apart from
 * report.mjs because a ramp has a shape of its own: a variable number of steps per run, and a
 * result that is "the last step that passed", not one figure per phase.
 */

/** Flat figures of one run: the last passed step, then every step as s<rate>_<figure>. */
export function shardedHeadline(f) {
  const b = f.maxSustained;
  const out = {
    maxEventsPerSec: b?.rate ?? null,
    maxAchievedEventsPerSec: b?.achievedPublishRate ?? null,
    maxDeliveriesPerSec: b?.deliveriesPerSec ?? null,
    stackCpuPct: b?.routerCpuPct ?? null,
    eventsPerCore: b?.eventsPerCore ?? null,
    deliveriesPerCore: b?.deliveriesPerCore ?? null,
    p50: b?.latencyMs?.p50 ?? null,
    p99: b?.latencyMs?.p99 ?? null,
    stoppedAtRate: f.stoppedAt?.rate ?? null,
    rssMB: f.rssMB ?? null,
  };
  for (const s of f.steps ?? []) {
    const k = (name) => `s${s.rate}_${name}`;
    out[k("p50")] = s.latencyMs?.p50 ?? null;
    out[k("p99")] = s.latencyMs?.p99 ?? null;
    out[k("deliveriesPerSec")] = s.deliveriesPerSec;
    out[k("achievedPublishRate")] = s.achievedPublishRate;
    out[k("missing")] = s.missing;
    out[k("routerCpuPct")] = s.routerCpuPct;
    out[k("generatorCpuPct")] = s.generatorCpuPct;
    out[k("outstanding")] = s.outstandingAtPublishEnd;
    out[k("brokerLag")] = s.brokerLag;
  }
  return out;
}

const ratio = (a, b) => (a && b ? Math.round((a / b) * 100) / 100 : null);

/** The spec's throughput targets against the max sustained step (recorded, never asserted). */
export function shardedEvaluate(summary) {
  const sg = summary.streamgate?.median;
  const base = summary["graphql-ws"]?.median;
  const floor = summary["uws-floor"]?.median;
  const ratios = {};
  const targets = [];
  if (!sg) return { ratios, targets };
  const perCore = sg.deliveriesPerCore;
  targets.push({
    figure: "deliveries per stack CPU-second at the max sustained step (1 core)",
    target: "≥ 300k",
    measured: perCore,
    met: perCore === null ? null : perCore >= 300_000,
    by: perCore !== null && perCore < 300_000 ? `${ratio(300_000, perCore)}× short` : undefined,
  });
  if (base) {
    ratios.maxDeliveriesVsGraphqlWs = ratio(sg.maxDeliveriesPerSec, base.maxDeliveriesPerSec);
    ratios.deliveriesPerCoreVsGraphqlWs = ratio(sg.deliveriesPerCore, base.deliveriesPerCore);
    const r = ratios.maxDeliveriesVsGraphqlWs;
    targets.push({
      figure: "max sustained deliveries/s vs baseline 2 (graphql-ws)",
      target: "≥ 5×",
      measured: r,
      met: r === null ? null : r >= 5,
      by: r !== null && r < 5 ? `${r}× instead of 5×` : undefined,
    });
  }
  if (floor) {
    ratios.maxDeliveriesVsFloor = ratio(sg.maxDeliveriesPerSec, floor.maxDeliveriesPerSec);
    ratios.deliveriesPerCoreVsFloor = ratio(sg.deliveriesPerCore, floor.deliveriesPerCore);
  }
  return { ratios, targets };
}

/** Step rates any run of the result reached, ascending. */
function stepRates(r) {
  const rates = new Set();
  for (const run of r.runs) for (const s of run.figures?.steps ?? []) rates.add(s.rate);
  return [...rates].sort((a, b) => a - b);
}

/** How the ramp of each repetition of `stack` ended, one short phrase each. */
function endings(r, stack) {
  return r.runs
    .filter((x) => x.stack === stack && x.figures?.stoppedAt)
    .map((x) => {
      const s = x.figures.stoppedAt;
      if (s.rate === null) return "reached --max-rate";
      const why = (s.reasons[0] ?? "").replace(/^\d+ ev\/s: /, "");
      return `${s.rate.toLocaleString("en-US")}: ${why} (likely limit: ${s.limitedBy})`;
    })
    .join("; ");
}

/** The two tables of a sharded result: max sustained per stack, then every step. */
export function shardedTable(r, fmt) {
  const stacks = Object.keys(r.summary);
  const f0 = r.runs.find((x) => x.figures)?.figures;
  const lines = [];
  if (f0)
    lines.push(
      `${f0.clients.toLocaleString("en-US")} clients on ${f0.topics.toLocaleString("en-US")} topics (fan-out ${f0.fanout}); ` +
        `steps of ${f0.stepSeconds} s doubling from ${f0.startRate} ev/s (all topics together) up to ${f0.maxRate}; ` +
        `a step passes with every delivery, p99 ≤ ${f0.p99LimitMs} ms and the publisher at ≥ 95% of the rate. ` +
        "Per core = per CPU-second of the stack over the step.",
      "",
    );
  lines.push(
    "| stack | runs passed | max sustained ev/s | deliveries/s | stack CPU % | ev/s per core | deliveries/s per core | p50 ms | p99 ms | ramp ended at ev/s: why |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  );
  for (const s of stacks) {
    const x = r.summary[s];
    if (x.skipped) {
      lines.push(`| ${s} | skipped: ${x.skipped} |||||||||`);
      continue;
    }
    const m = x.median ?? {};
    lines.push(
      `| ${s} | ${x.passed}/${x.runs} | ${fmt(m.maxEventsPerSec)} | ${fmt(m.maxDeliveriesPerSec)} | ${fmt(m.stackCpuPct)} | ${fmt(m.eventsPerCore)} | ${fmt(m.deliveriesPerCore)} | ${fmt(m.p50)} | ${fmt(m.p99)} | ${endings(r, s) || "–"} |`,
    );
  }
  const rates = stepRates(r);
  lines.push(
    "",
    "| stack | ev/s | published ev/s | deliveries/s | p50 ms | p99 ms | missing | stack CPU % | generator CPU % | outstanding when publishing stopped | broker lag | passed |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const s of stacks) {
    if (r.summary[s].skipped) continue;
    const m = r.summary[s].median ?? {};
    const runs = r.runs.filter((x) => x.stack === s && x.figures?.steps);
    for (const rate of rates) {
      const reached = runs.filter((x) => x.figures.steps.some((st) => st.rate === rate));
      if (reached.length === 0) continue;
      const ok = reached.filter((x) => x.figures.steps.find((st) => st.rate === rate).ok).length;
      const g = (k) => fmt(m[`s${rate}_${k}`]);
      lines.push(
        `| ${s} | ${fmt(rate)} | ${g("achievedPublishRate")} | ${g("deliveriesPerSec")} | ${g("p50")} | ${g("p99")} | ${g("missing")} | ${g("routerCpuPct")} | ${g("generatorCpuPct")} | ${g("outstanding")} | ${g("brokerLag")} | ${ok}/${reached.length} |`,
      );
    }
  }
  // One line per distinct meaning of "broker lag", naming the stacks it applies to.
  const measures = new Map();
  for (const x of r.runs.filter((x) => x.figures?.lagMeasure)) {
    const stacksOf = measures.get(x.figures.lagMeasure) ?? new Set();
    measures.set(x.figures.lagMeasure, stacksOf.add(x.stack));
  }
  for (const [measure, of] of measures) lines.push("", `Broker lag (${[...of].join(", ")}): ${measure}.`);
  return lines.join("\n");
}
