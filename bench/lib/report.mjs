/**
 * Results: the JSON file of a run, and the Markdown table and SVG chart rendered from every
 * `latest-<scenario>.json` in a results directory.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { median } from "./harness.mjs";
import { DELIVERY_LABELS, deliveryEvaluate, deliveryHeadline, presetEvaluate } from "./report-ab.mjs";
import { shardedEvaluate, shardedHeadline, shardedTable } from "./report-sharded.mjs";
import { brokerTodo } from "./stacks.mjs";
import { REPO_ROOT } from "./sys.mjs";

/** Headline numbers of one run's figures, flat, per scenario (what medians and tables use). */
export function headline(scenario, f) {
  if (!f) return {};
  switch (scenario) {
    case "idle":
      return {
        rssMB: f.rssMB,
        rssMaxMB: f.rssMaxMB,
        rssPerClientKiB: f.rssPerClientKiB,
        rssSlopePerClientKiB: f.rssSlopePerClientKiB ?? null,
        rssTotalPerClientKiB: f.rssTotalPerClientKiB,
        rssAfterConnectMB: f.rssFullEarlyMB ?? null,
        socketMemMB: f.socketMemMB,
        idleCpuPct: f.idleCpuPct,
        connectRate: f.connectRate,
      };
    case "broadcast": {
      const out = { rssMB: f.rssMB };
      for (const p of f.phases ?? []) {
        out[`r${p.rate}_p50`] = p.latencyMs?.p50 ?? null;
        out[`r${p.rate}_p99`] = p.latencyMs?.p99 ?? null;
        out[`r${p.rate}_p999`] = p.latencyMs?.p999 ?? null;
        out[`r${p.rate}_max`] = p.latencyMs?.max ?? null;
        out[`r${p.rate}_deliveriesPerSec`] = p.deliveriesPerSec;
        out[`r${p.rate}_missing`] = p.missing;
        out[`r${p.rate}_deliveriesPerCpuSec`] = p.deliveriesPerCpuSec;
        out[`r${p.rate}_routerCpuPct`] = p.routerCpuPct;
        out[`r${p.rate}_routerKernelCpuPct`] = p.routerKernelCpuPct ?? null;
        out[`r${p.rate}_routerRunQueueWaitPct`] = p.routerRunQueueWaitPct ?? null;
        out[`r${p.rate}_generatorCpuPct`] = p.generatorCpuPct;
      }
      out.maxDeliveriesPerSec = Math.max(0, ...(f.phases ?? []).map((p) => p.deliveriesPerSec ?? 0));
      out.maxDeliveriesPerCpuSec = Math.max(0, ...(f.phases ?? []).map((p) => p.deliveriesPerCpuSec ?? 0));
      return out;
    }
    case "sharded":
      return shardedHeadline(f);
    case "churn":
      return {
        churnOpsPerSec: f.churnOpsPerSec,
        churnCpuPct: f.churnCpuPct,
        reconnect95Ms: f.reconnect95Ms,
        reconnectLiveMs: f.reconnectLiveMs,
        rssBaseMB: f.rssBaseMB,
        rssAfterReconnectMB: f.rssAfterReconnectMB,
        rssBackRatio: f.rssBackRatio,
      };
    case "slow":
      return {
        healthyP50: f.healthyLatencyMs?.p50 ?? null,
        healthyP99: f.healthyLatencyMs?.p99 ?? null,
        healthyMissing: f.healthyExpected - f.healthyDelivered,
        healthyDeliveriesPerSec: f.healthyDeliveriesPerSec,
        rssMaxMB: f.rssMaxMB,
        socketMemMaxMB: f.socketMemMaxMB,
        slowDropped: f.slowDropped,
        slowClosed: f.slowClosed,
        routerCpuPct: f.routerCpuPct,
        routerKernelCpuPct: f.routerKernelCpuPct ?? null,
        routerRunQueueWaitPct: f.routerRunQueueWaitPct ?? null,
        generatorCpuPct: f.generatorCpuPct,
      };
    default:
      return deliveryHeadline(scenario, f);
  }
}

/** Median of each headline figure per stack over the repetitions that ran. */
export function summarize(scenario, runs) {
  const byStack = {};
  for (const r of runs) {
    if (!byStack[r.stack])
      byStack[r.stack] = { runs: 0, passed: 0, skipped: r.skipped ?? undefined, values: {} };
    const s = byStack[r.stack];
    if (r.skipped) continue;
    s.runs++;
    if (r.status === "PASSED") s.passed++;
    for (const [k, v] of Object.entries(headline(scenario, r.figures))) {
      if (!s.values[k]) s.values[k] = [];
      s.values[k].push(v);
    }
  }
  const out = {};
  for (const [stack, s] of Object.entries(byStack)) {
    const medians = {};
    for (const [k, vs] of Object.entries(s.values)) medians[k] = median(vs);
    out[stack] = {
      runs: s.runs,
      passed: s.passed,
      ...(s.skipped ? { skipped: s.skipped } : {}),
      median: medians,
    };
  }
  return out;
}

const ratio = (a, b) => (a && b ? Math.round((a / b) * 100) / 100 : null);

/**
 * Ratios against baseline 2 and the floor, and the spec's targets (recorded, never asserted).
 * A preset run (lib/presets.mjs) compares its two stacks instead; `runs` give its noise.
 */
export function evaluate(scenario, summary, opts, runs = []) {
  if (opts?.preset) return presetEvaluate(opts.preset, summary, opts, runs, (f) => headline(scenario, f));
  if (scenario === "resume" || scenario === "herd") return deliveryEvaluate(scenario, summary);
  if (scenario === "sharded") return shardedEvaluate(summary);
  const sg = summary.streamgate?.median;
  const base = summary["graphql-ws"]?.median;
  const floor = summary["uws-floor"]?.median;
  const ratios = {};
  const targets = [];
  const target = (figure, goal, measured, met, by) =>
    targets.push({ figure, target: goal, measured, met: measured === null ? null : met, by });
  if (!sg) return { ratios, targets };
  if (scenario === "idle") {
    ratios.memoryVsGraphqlWs = ratio(base?.rssMB, sg.rssMB);
    ratios.peakMemoryVsGraphqlWs = ratio(base?.rssMaxMB, sg.rssMaxMB);
    ratios.memoryVsFloor = ratio(sg.rssMB, floor?.rssMB);
    target(
      `router RSS, ${opts.clients} idle clients`,
      "≤ 100 MB",
      sg.rssMB,
      sg.rssMB <= 100,
      sg.rssMB > 100 ? `${Math.round(sg.rssMB - 100)} MB over` : undefined,
    );
    target(
      "RSS per client: (RSS after the hold − RSS before connecting) / clients",
      "≤ 3 KiB",
      sg.rssPerClientKiB,
      sg.rssPerClientKiB <= 3,
      sg.rssPerClientKiB > 3 ? `${ratio(sg.rssPerClientKiB, 3)}× the target` : undefined,
    );
    target(
      "idle CPU",
      "< 1%",
      sg.idleCpuPct,
      sg.idleCpuPct < 1,
      sg.idleCpuPct >= 1 ? `${sg.idleCpuPct}%` : undefined,
    );
    if (ratios.memoryVsGraphqlWs !== null && ratios.memoryVsGraphqlWs !== undefined)
      target(
        "memory vs baseline 2 (graphql-ws), RSS after the hold",
        "≥ 3× less",
        ratios.memoryVsGraphqlWs,
        ratios.memoryVsGraphqlWs >= 3,
        ratios.memoryVsGraphqlWs < 3 ? `${ratios.memoryVsGraphqlWs}× instead of 3×` : undefined,
      );
  }
  if (scenario === "broadcast") {
    const low = Math.min(...opts.rates);
    const p99 = sg[`r${low}_p99`];
    const floorP99 = floor?.[`r${low}_p99`];
    target(
      `p99, ${low} ev/s to ${opts.clients} subscribers`,
      "≤ 50 ms",
      p99,
      p99 !== null && p99 <= 50,
      p99 > 50 ? `${Math.round(p99 - 50)} ms over` : undefined,
    );
    if (floorP99) {
      ratios.p99VsFloor = ratio(p99, floorP99);
      target(
        "p99 vs the uWS floor, same run",
        "≤ 1.5×",
        ratios.p99VsFloor,
        ratios.p99VsFloor <= 1.5,
        ratios.p99VsFloor > 1.5 ? `${ratios.p99VsFloor}×` : undefined,
      );
    }
    // The throughput targets need an offered load above them (rate × subscribers).
    const offered = Math.max(...opts.rates) * opts.clients;
    if (offered < 300_000) {
      targets.push({
        figure: "deliveries/s targets",
        target: "≥ 300k, ≥ 5× baseline 2",
        measured: null,
        met: null,
        by: `not evaluated: offered load ${offered.toLocaleString("en-US")}/s is below 300k/s`,
      });
      return { ratios, targets };
    }
    target(
      "deliveries/s, 1 core (best rate)",
      "≥ 300k",
      sg.maxDeliveriesPerSec,
      sg.maxDeliveriesPerSec >= 300_000,
      sg.maxDeliveriesPerSec < 300_000
        ? `${Math.round((300_000 - sg.maxDeliveriesPerSec) / 1000)}k/s short (${ratio(sg.maxDeliveriesPerSec, 300_000)}×)`
        : undefined,
    );
    if (base) {
      ratios.deliveriesVsGraphqlWs = ratio(sg.maxDeliveriesPerSec, base.maxDeliveriesPerSec);
      target(
        "deliveries/s vs baseline 2 (graphql-ws)",
        "≥ 5×",
        ratios.deliveriesVsGraphqlWs,
        ratios.deliveriesVsGraphqlWs >= 5,
        ratios.deliveriesVsGraphqlWs < 5 ? `${ratios.deliveriesVsGraphqlWs}× instead of 5×` : undefined,
      );
      ratios.memoryVsGraphqlWs = ratio(base.rssMB, sg.rssMB);
    }
    if (floor) ratios.deliveriesVsFloor = ratio(sg.maxDeliveriesPerSec, floor.maxDeliveriesPerSec);
    // The machine is shared and the generator has one core: per CPU-second of the stack is the
    // figure that does not depend on how much of its core the stack got.
    if (sg.maxDeliveriesPerCpuSec) {
      target(
        "deliveries per stack CPU-second (one core, extrapolated)",
        "≥ 300k",
        sg.maxDeliveriesPerCpuSec,
        sg.maxDeliveriesPerCpuSec >= 300_000,
        sg.maxDeliveriesPerCpuSec < 300_000
          ? `${ratio(300_000, sg.maxDeliveriesPerCpuSec)}× short`
          : undefined,
      );
      if (base?.maxDeliveriesPerCpuSec) {
        ratios.deliveriesPerCpuVsGraphqlWs = ratio(sg.maxDeliveriesPerCpuSec, base.maxDeliveriesPerCpuSec);
        target(
          "deliveries per CPU-second vs baseline 2",
          "≥ 5×",
          ratios.deliveriesPerCpuVsGraphqlWs,
          ratios.deliveriesPerCpuVsGraphqlWs >= 5,
          ratios.deliveriesPerCpuVsGraphqlWs < 5
            ? `${ratios.deliveriesPerCpuVsGraphqlWs}× instead of 5×`
            : undefined,
        );
      }
      if (floor?.maxDeliveriesPerCpuSec)
        ratios.deliveriesPerCpuVsFloor = ratio(sg.maxDeliveriesPerCpuSec, floor.maxDeliveriesPerCpuSec);
    }
  }
  if (scenario === "slow" && base) {
    ratios.rssMaxVsGraphqlWs = ratio(base.rssMaxMB, sg.rssMaxMB);
    ratios.healthyP99VsGraphqlWs = ratio(base.healthyP99, sg.healthyP99);
  }
  if (scenario === "churn" && base)
    ratios.churnOpsVsGraphqlWs = ratio(sg.churnOpsPerSec, base.churnOpsPerSec);
  return { ratios, targets };
}

/** File key: the scenario, plus the broker when it is not NATS (latest-broadcast-redis.json). */
export function resultKey(r) {
  const broker = r.broker && r.broker !== "nats" && r.number < 90 ? `-${r.broker}` : "";
  return `${r.scenario}${broker}${r.tag ? `-${r.tag}` : ""}`;
}

/** Lays JSON out the way the repository's formatter (biome) would, when it is installed. */
function biomeFormat(files) {
  const bin = join(REPO_ROOT, "node_modules/.bin/biome");
  if (!existsSync(bin)) return;
  spawnSync(bin, ["format", "--write", ...files], { stdio: "ignore", cwd: REPO_ROOT });
}

export async function writeResult(dir, result) {
  await mkdir(dir, { recursive: true });
  const stampName = result.timestamp.replace(/[:.]/g, "-");
  const key = resultKey(result);
  const file = join(dir, `${key}-${stampName}.json`);
  const text = `${JSON.stringify(result, null, 2)}\n`;
  await writeFile(file, text);
  await writeFile(join(dir, `latest-${key}.json`), text);
  biomeFormat([file, join(dir, `latest-${key}.json`)]);
  return file;
}

function latestResults(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^latest-.+\.json$/.test(f))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")))
    .sort((a, b) => a.number - b.number || resultKey(a).localeCompare(resultKey(b)));
}

const fmt = (v) => {
  if (v === null || v === undefined) return "–";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v !== "number") return String(v);
  if (Math.abs(v) >= 10_000) return Math.round(v).toLocaleString("en-US");
  return String(Math.round(v * 100) / 100);
};

const LABELS = {
  rssMB: "RSS MB",
  rssPerClientKiB: "KiB/client (over empty)",
  rssSlopePerClientKiB: "KiB/client (N/2→N slope, 2 s after each)",
  rssTotalPerClientKiB: "KiB/client (total)",
  socketMemMB: "kernel TCP MB",
  idleCpuPct: "idle CPU %",
  connectRate: "connects/s",
  maxDeliveriesPerSec: "best deliveries/s",
  churnOpsPerSec: "churn ops/s",
  churnCpuPct: "CPU % in churn",
  reconnect95Ms: "95% reconnected ms",
  reconnectLiveMs: "all live again ms",
  rssBaseMB: "RSS before MB",
  rssAfterReconnectMB: "RSS after reconnect MB",
  rssBackRatio: "after/before",
  healthyP50: "healthy p50 ms",
  healthyP99: "healthy p99 ms",
  healthyMissing: "healthy missing",
  healthyDeliveriesPerSec: "healthy deliveries/s",
  rssMaxMB: "RSS max MB",
  socketMemMaxMB: "kernel TCP max MB",
  slowDropped: "slow: dropped",
  slowClosed: "slow: closed",
  routerCpuPct: "stack CPU %",
  routerKernelCpuPct: "of which kernel %",
  routerRunQueueWaitPct: "stack starved %",
  generatorCpuPct: "generator CPU %",
  ...DELIVERY_LABELS,
};
const label = (k) => {
  const m = /^r(\d+)_(.+)$/.exec(k);
  if (m) return `${m[1]} ev/s ${m[2].replace("deliveriesPerSec", "deliv/s").replace("CpuPct", " CPU %")}`;
  return LABELS[k] ?? k;
};

function scenarioTable(r) {
  if (r.scenario === "sharded") return shardedTable(r, fmt);
  const stacks = Object.keys(r.summary);
  const keys = [...new Set(stacks.flatMap((s) => Object.keys(r.summary[s].median ?? {})))];
  if (r.scenario === "broadcast") {
    // one row per stack and rate reads better than 30 columns
    const rates = r.options.rates ?? [];
    const lines = [
      "| stack | rate ev/s | p50 ms | p99 ms | p99.9 ms | max ms | deliveries/s | missing | stack CPU % (kernel) | stack starved % | generator CPU % | deliveries per stack CPU-s |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ];
    for (const s of stacks) {
      const m = r.summary[s].median ?? {};
      if (r.summary[s].skipped) {
        lines.push(`| ${s} | skipped: ${r.summary[s].skipped} |||||||||`);
        continue;
      }
      for (const rate of rates) {
        const g = (k) => fmt(m[`r${rate}_${k}`]);
        lines.push(
          `| ${s} | ${rate} | ${g("p50")} | ${g("p99")} | ${g("p999")} | ${g("max")} | ${g("deliveriesPerSec")} | ${g("missing")} | ${g("routerCpuPct")} (${g("routerKernelCpuPct")}) | ${g("routerRunQueueWaitPct")} | ${g("generatorCpuPct")} | ${g("deliveriesPerCpuSec")} |`,
        );
      }
    }
    lines.push("", "| stack | RSS MB (after) | runs passed |", "| --- | ---: | ---: |");
    for (const s of stacks)
      lines.push(
        `| ${s} | ${fmt(r.summary[s].median?.rssMB)} | ${r.summary[s].passed}/${r.summary[s].runs} |`,
      );
    return lines.join("\n");
  }
  const head = `| stack | runs passed | ${keys.map(label).join(" | ")} |`;
  const sep = `| --- | ---: | ${keys.map(() => "---:").join(" | ")} |`;
  const rows = stacks.map((s) =>
    r.summary[s].skipped
      ? `| ${s} | skipped: ${r.summary[s].skipped} | ${keys.map(() => "").join(" | ")} |`
      : `| ${s} | ${r.summary[s].passed}/${r.summary[s].runs} | ${keys.map((k) => fmt(r.summary[s].median?.[k])).join(" | ")} |`,
  );
  return [head, sep, ...rows].join("\n");
}

export function renderMarkdown(dir) {
  const results = latestResults(dir);
  const out = [
    "# Benchmark results",
    "",
    "Generated by `npm run bench` from the `latest-<scenario>.json` files in this folder (do not edit by hand).",
    "Figures are medians over the repetitions of one run (stacks interleaved A B A B). Full numbers,",
    "machine, versions and config are in each JSON file. Targets are recorded, not asserted.",
    "",
    "![RSS and deliveries/s](chart.svg)",
    "",
  ];
  for (const r of results) {
    const title = r.number >= 90 ? r.scenario : `${r.number}. ${r.scenario}`;
    const broker = r.broker === "kafka" ? "kafka: librdkafka's mock cluster, not Apache Kafka" : r.broker;
    const variant = [broker && broker !== "nats" ? broker : "", r.tag ?? ""].filter(Boolean).join(", ");
    out.push(`## ${title}${variant ? ` (${variant})` : ""} — ${r.status}`, "");
    out.push(`\`${r.command}\` — ${r.timestamp}`, "");
    const m = r.machine;
    out.push(
      `Machine: ${m.cpuModel}, ${m.cores} cores, ${Math.round(m.memBytes / 2 ** 30)} GiB, ${m.kernel}; node ${r.versions.node}. ` +
        `Pinning: ${r.layout?.pinned ? `stack on core ${r.layout.router}, generator/broker on ${r.layout.load}` : "none"}; ` +
        `${r.layout?.generatorWorkers} generator worker(s). Broker: ${r.broker}. ` +
        `Load average before/after: ${r.loadBefore.join(" ")} / ${r.loadAfter.join(" ")}${r.machineBusy ? " — **machine busy with other work (load > 0.7 or another process ≥ 5% CPU); numbers are noisy**" : ""}.`,
      "",
    );
    out.push(scenarioTable(r), "");
    if (r.targets?.length) {
      out.push(
        "| target (Streamgate) | goal | measured | met | by how much |",
        "| --- | --- | ---: | --- | --- |",
      );
      for (const t of r.targets)
        out.push(
          `| ${t.figure} | ${t.target} | ${fmt(t.measured)} | ${t.met === null ? "–" : t.met ? "yes" : "**no**"} | ${t.by ?? ""} |`,
        );
      out.push("");
    }
    if (r.ratios && Object.keys(r.ratios).length)
      out.push(
        `Ratios: ${Object.entries(r.ratios)
          .map(([k, v]) => `${k} = ${fmt(v)}`)
          .join(", ")}`,
        "",
      );
    const failures = r.runs
      .filter((x) => x.failures?.length)
      .flatMap((x) => x.failures.map((f) => `${x.stack}#${x.rep}: ${f}`));
    if (failures.length) out.push("Failures:", "", ...failures.slice(0, 20).map((f) => `- ${f}`), "");
    if (r.notes?.length) out.push("Notes:", "", ...r.notes.map((n) => `- ${n}`), "");
  }
  return `${out.join("\n")}\n`;
}

const COLORS = {
  streamgate: "#2f7ed8",
  "graphql-ws": "#d9534f",
  federated: "#f0ad4e",
  "uws-floor": "#5cb85c",
};
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** A hand-written SVG: bars per stack for idle RSS, best broadcast deliveries/s and per CPU-second. */
export function renderSvg(dir) {
  const results = Object.fromEntries(latestResults(dir).map((r) => [resultKey(r), r]));
  const panels = [];
  if (results.idle)
    panels.push({
      title: `Scenario 1: RSS with ${results.idle.options.clients.toLocaleString("en-US")} idle clients (MB, lower is better)`,
      unit: "MB",
      values: Object.entries(results.idle.summary).map(([s, v]) => [s, v.median?.rssMB ?? null, v.skipped]),
    });
  if (results.broadcast)
    panels.push({
      title: `Scenario 2: best deliveries/s, ${results.broadcast.options.clients.toLocaleString("en-US")} subscribers (higher is better)`,
      unit: "/s",
      values: Object.entries(results.broadcast.summary).map(([s, v]) => [
        s,
        v.median?.maxDeliveriesPerSec ?? null,
        v.skipped,
      ]),
    });
  if (results.broadcast)
    panels.push({
      title: "Scenario 2: deliveries per CPU-second of the stack, best rate (higher is better)",
      unit: "/CPU-s",
      values: Object.entries(results.broadcast.summary).map(([s, v]) => [
        s,
        v.median?.maxDeliveriesPerCpuSec ?? null,
        v.skipped,
      ]),
    });
  // Scenario 3 is run per topic count (tags): chart the first NATS one.
  const sharded = Object.values(results).find((r) => r.scenario === "sharded" && r.broker === "nats");
  if (sharded)
    panels.push({
      title: `Scenario 3: max sustained deliveries/s, ${sharded.options.clients.toLocaleString("en-US")} clients on ${sharded.options.topics.toLocaleString("en-US")} topics (higher is better)`,
      unit: "/s",
      values: Object.entries(sharded.summary).map(([s, v]) => [
        s,
        v.median?.maxDeliveriesPerSec ?? null,
        v.skipped,
      ]),
    });
  const W = 760;
  const rowH = 26;
  const labelW = 120;
  const barW = W - labelW - 130;
  let y = 10;
  const parts = [];
  for (const p of panels) {
    parts.push(`<text x="10" y="${y + 16}" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
    y += 28;
    const max = Math.max(1, ...p.values.map((v) => v[1] ?? 0));
    for (const [stack, value, skipped] of p.values) {
      parts.push(`<text x="10" y="${y + 17}" font-size="13">${esc(stack)}</text>`);
      if (value === null || value === undefined) {
        parts.push(
          `<text x="${labelW}" y="${y + 17}" font-size="12" fill="#777">${esc(skipped ? "skipped" : "no data")}</text>`,
        );
      } else {
        const w = Math.max(1, Math.round((value / max) * barW));
        parts.push(
          `<rect x="${labelW}" y="${y + 4}" width="${w}" height="${rowH - 8}" fill="${COLORS[stack] ?? "#888"}"/>`,
        );
        parts.push(
          `<text x="${labelW + w + 6}" y="${y + 17}" font-size="12">${esc(fmt(value))} ${esc(p.unit)}</text>`,
        );
      }
      y += rowH;
    }
    y += 14;
  }
  if (panels.length === 0) {
    parts.push(`<text x="10" y="30" font-size="14">no results yet</text>`);
    y = 50;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif">\n<title>Streamgate benchmark: RSS and deliveries/s per stack</title>\n<rect width="100%" height="100%" fill="white"/>\n${parts.join("\n")}\n</svg>\n`;
}

/** Recomputes summary, ratios and targets of every latest-*.json from its runs (after a fix here). */
export async function reevaluate(dir) {
  for (const r of latestResults(dir)) {
    if (!r.runs || (r.number >= 90 && !["resume", "herd"].includes(r.scenario))) continue;
    r.summary = summarize(r.scenario, r.runs);
    Object.assign(r, evaluate(r.scenario, r.summary, r.options, r.runs));
    if (r.notes) r.notes = r.notes.filter((n) => !n.startsWith("Kafka and Redis variants: TODO"));
    if (r.scenario === "broadcast" && r.notes && !r.notes.some((n) => n.startsWith("Kafka:")))
      r.notes.push(...brokerTodo());
    const text = `${JSON.stringify(r, null, 2)}\n`;
    const key = resultKey(r);
    await writeFile(join(dir, `latest-${key}.json`), text);
    const stamped = join(dir, `${key}-${r.timestamp.replace(/[:.]/g, "-")}.json`);
    if (existsSync(stamped)) await writeFile(stamped, text);
    biomeFormat([join(dir, `latest-${key}.json`), ...(existsSync(stamped) ? [stamped] : [])]);
  }
}

export async function renderAll(dir) {
  await writeFile(join(dir, "README.md"), renderMarkdown(dir));
  await writeFile(join(dir, "chart.svg"), renderSvg(dir));
}
