/**
 * Results of the issue 10 and 11 runs: the A/B comparisons of lib/presets.mjs (ratios B ÷ A of the
 * medians, and how much the repetitions of one stack disagreed, the run's noise) and the resume and
 * herd scenarios' headline figures. Targets are recorded, never asserted (as in lib/report.mjs).
 */
import { PRESETS } from "./presets.mjs";

const ratio = (a, b) => (a && b ? Math.round((a / b) * 1000) / 1000 : null);
const pct = (x) => `${Math.round(x * 1000) / 10}%`;

/** Headline figures of scenarios resume and herd (lib/report.mjs `headline` for the others). */
export function deliveryHeadline(scenario, f) {
  if (scenario === "resume")
    return {
      caughtUpP50: f.caughtUpMs?.p50 ?? null,
      caughtUpP99: f.caughtUpMs?.p99 ?? null,
      caughtUpMax: f.caughtUpMs?.max ?? null,
      firstEventP50: f.firstEventMs?.p50 ?? null,
      firstEventP99: f.firstEventMs?.p99 ?? null,
      connectP50: f.connectMs?.p50 ?? null,
      replayedEventsPerSec: f.replayedEventsPerSec ?? null,
      rssMB: f.rssMB ?? null,
    };
  if (scenario === "herd")
    return {
      restartMs: f.restartMs ?? null,
      reconnectAllMs: f.reconnectAllMs ?? null,
      caughtUpP50: f.caughtUpMs?.p50 ?? null,
      caughtUpP99: f.caughtUpMs?.p99 ?? null,
      allCaughtUpMs: f.allCaughtUpMs ?? null,
      allCompleteMs: f.allCompleteMs ?? null,
      missingEvents: f.missingEvents ?? null,
      duplicates: f.duplicates ?? null,
      rssBeforeKillMaxMB: f.rssBeforeKillMaxMB ?? null,
      rssPeakMB: f.rssPeakMB ?? null,
      routerCpuPct: f.routerCpuPct ?? null,
      generatorCpuPct: f.generatorCpuPct ?? null,
    };
  return {};
}

export const DELIVERY_LABELS = {
  rssAfterConnectMB: "RSS after connect MB",
  caughtUpP50: "caught up p50 ms",
  caughtUpP99: "caught up p99 ms",
  caughtUpMax: "caught up max ms",
  firstEventP50: "first event p50 ms",
  firstEventP99: "first event p99 ms",
  connectP50: "reconnect p50 ms",
  replayedEventsPerSec: "replayed events/s",
  restartMs: "restart → listening ms",
  reconnectAllMs: "all reconnected ms",
  allCaughtUpMs: "all caught up ms",
  allCompleteMs: "all events everywhere ms",
  missingEvents: "missing",
  duplicates: "duplicates",
  rssBeforeKillMaxMB: "RSS before kill MB",
  rssPeakMB: "RSS peak after restart MB",
};

/** Spread of one figure over a stack's repetitions: (max − min) ÷ median, the run's noise. */
function spread(runs, stack, key, headline) {
  const v = runs
    .filter((r) => r.stack === stack && r.status === "PASSED")
    .map((r) => headline(r.figures)[key])
    .filter((x) => typeof x === "number" && Number.isFinite(x))
    .sort((a, b) => a - b);
  if (v.length < 2) return null;
  const mid = v[Math.floor(v.length / 2)];
  return mid ? (v[v.length - 1] - v[0]) / mid : null;
}

/**
 * Ratios and targets of a preset run; `headline(figures)` is the scenario's headline function.
 * Returns undefined when the run does not have both stacks of the preset.
 */
export function presetEvaluate(name, summary, opts, runs = [], headline) {
  const preset = PRESETS[name];
  const [a, b] = opts.stacks ?? preset?.stacks ?? [];
  const A = summary[a]?.median;
  const B = summary[b]?.median;
  const ratios = {};
  const targets = [];
  if (!preset || !A || !B) return { ratios, targets };
  const noise = (key) => {
    const s = [spread(runs, a, key, headline), spread(runs, b, key, headline)].filter((x) => x !== null);
    return s.length ? Math.max(...s) : null;
  };
  const target = (figure, goal, measured, met, by) =>
    targets.push({ figure, target: goal, measured, met: measured === null ? null : met, by });
  /** B ÷ A of `key`, at most `max` (or at least `min`) times. */
  const bound = (key, figure, { max, min }) => {
    const r = ratio(B[key], A[key]);
    ratios[`${key}_${b}_vs_${a}`] = r;
    const n = noise(key);
    const met = r === null ? null : max !== undefined ? r <= max : r >= min;
    const goal = max !== undefined ? `≤ ${max}×` : `≥ ${min}×`;
    target(figure, goal, r, met, n === null ? undefined : `repetitions disagreed by up to ${pct(n)}`);
  };
  /** B ÷ A of `key` within the run's noise (at least ±5%). */
  const same = (key, figure) => {
    const r = ratio(B[key], A[key]);
    ratios[`${key}_${b}_vs_${a}`] = r;
    const n = Math.max(0.05, noise(key) ?? 0);
    const met = r === null ? null : Math.abs(1 - r) <= n;
    target(figure, `1× within noise (±${pct(n)})`, r, met, undefined);
  };
  if (name === "auth-connect") {
    bound("rssMB", `RSS after the ${opts.duration} s idle hold, tokens ÷ none`, { max: 1.1 });
    bound("rssAfterConnectMB", "RSS after connect (2 s after the last ack), tokens ÷ none", { max: 1.1 });
    ratios[`connectRate_${b}_vs_${a}`] = ratio(B.connectRate, A.connectRate);
    target(
      "connection set-up rate, tokens ÷ none (connects/s)",
      "recorded",
      ratio(B.connectRate, A.connectRate),
      null,
    );
  }
  if (name === "auth-claims")
    for (const rate of opts.rates ?? []) {
      same(
        `r${rate}_deliveriesPerCpuSec`,
        `deliveries per stack CPU-second at ${rate} ticks/s, claim ÷ argument`,
      );
      same(`r${rate}_deliveriesPerSec`, `deliveries/s at ${rate} ticks/s, claim ÷ argument`);
      ratios[`r${rate}_p99_${b}_vs_${a}`] = ratio(B[`r${rate}_p99`], A[`r${rate}_p99`]);
    }
  if (name === "at-least-once") {
    const top = Math.max(...(opts.rates ?? [0]));
    bound(`r${top}_deliveriesPerSec`, `deliveries/s at ${top} ev/s, on ÷ off`, { min: 0.85 });
    bound(`r${top}_deliveriesPerCpuSec`, `deliveries per stack CPU-second at ${top} ev/s, on ÷ off`, {
      min: 0.85,
    });
    for (const rate of opts.rates ?? []) bound(`r${rate}_p99`, `p99 at ${rate} ev/s, on ÷ off`, { max: 1.2 });
  }
  return { ratios, targets };
}

/** Targets of scenarios resume and herd (the one stack that ran). */
export function deliveryEvaluate(scenario, summary) {
  const ratios = {};
  const targets = [];
  const [stack] = Object.keys(summary).filter((s) => !summary[s].skipped);
  const m = summary[stack]?.median;
  if (!m) return { ratios, targets };
  const target = (figure, goal, measured, met) =>
    targets.push({ figure, target: goal, measured, met: measured === null ? null : met });
  if (scenario === "resume")
    target("resume → caught up, p99 over the trials", "≤ 200 ms", m.caughtUpP99, m.caughtUpP99 <= 200);
  if (scenario === "herd") {
    target("router peak RSS after the restart, all resuming", "≤ 250 MB", m.rssPeakMB, m.rssPeakMB <= 250);
    target("events missing at any client", "0", m.missingEvents, m.missingEvents === 0);
  }
  return { ratios, targets };
}
