/**
 * Prints the per-run rows of the A/B result files given (broadcast, sharded or idle), in run
 * order: the stack, each phase's peak RSS, p99 and deliveries/s, the run's RSS after, load before.
 *   node bench/results/ab-kafka-memory/table.mjs bench/results/ab-kafka-memory/*-20*.json
 */
import { readFileSync } from "node:fs";

for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, "utf8"));
  console.log(`\n${file}\n${r.command}\nload before/after: ${r.loadBefore} / ${r.loadAfter}`);
  for (const run of r.runs) {
    const f = run.figures ?? {};
    const cols = [`${run.stack} #${run.rep}`, `load ${run.loadBefore?.[0]}`];
    if (f.phases)
      for (const p of f.phases)
        cols.push(
          `${p.rate} ev/s: peak ${p.rssMaxMB} MB, p99 ${p.latencyMs?.p99} ms, ${p.deliveriesPerSec} del/s` +
            `${p.missing ? `, missing ${p.missing}` : ""}${p.passed === false ? " (stop)" : ""}`,
        );
    if (f.steps)
      for (const p of f.steps)
        cols.push(
          `${p.rate} ev/s: peak ${p.rssMaxMB} MB, p99 ${p.p99 ?? p.latencyMs?.p99} ms, ${p.deliveriesPerSec} del/s${p.passed === false ? " (stop)" : ""}`,
        );
    for (const k of ["rssEmptyMB", "rssMaxMB", "rssMB", "anonymousMB", "fileBackedMB", "idleCpuPct"])
      if (f[k] !== undefined) cols.push(`${k} ${f[k]}`);
    console.log(cols.join(" | "));
  }
}
