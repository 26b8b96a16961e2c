#!/usr/bin/env node
/**
 * Profiles Streamgate under scenario 1 (idle) and 2 (broadcast) and writes summaries to profiles/:
 *   - CPU: `node --cpu-prof` on the router; the .cpuprofile is kept when < 5 MB, and a top-functions
 *     summary (self time by function and by package/file) is always written.
 *   - Heap: snapshots via `--heapsnapshot-signal=SIGUSR2` before connecting and after the idle hold;
 *     a summary of self sizes by constructor and the difference per client. Snapshots are deleted.
 *
 *   node bench/profile.mjs [--clients 10000] [--out profiles] [--only cpu|heap]
 *   node bench/profile.mjs --summarize-cpu file.cpuprofile     (prints a summary)
 *   node bench/profile.mjs --summarize-heap a.heapsnapshot [b.heapsnapshot]
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "./lib/sys.mjs";

const { values, positionals } = parseArgs({
  options: {
    clients: { type: "string", default: "10000" },
    out: { type: "string", default: join(REPO_ROOT, "profiles") },
    only: { type: "string" },
    "summarize-cpu": { type: "string" },
    "summarize-heap": { type: "boolean" },
  },
  allowPositionals: true,
  strict: false,
});

/** Self time per function and per package/file from a V8 .cpuprofile. */
export function summarizeCpu(file, top = 30) {
  const prof = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const fnTime = new Map();
  const pkgTime = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const url = cf.url.replace(`file://${REPO_ROOT}/`, "");
    const fn = `${cf.functionName || "(anonymous)"} ${url ? `${url}:${cf.lineNumber + 1}` : ""}`.trim();
    fnTime.set(fn, (fnTime.get(fn) ?? 0) + us);
    let pkg;
    if (!url) pkg = cf.functionName.startsWith("(") ? cf.functionName : "(native/V8 builtins)";
    else if (url.includes("node_modules/"))
      pkg = url
        .split("node_modules/")
        .pop()
        .split("/")
        .slice(0, url.includes("node_modules/@") ? 2 : 1)
        .join("/");
    else if (url.startsWith("node:")) pkg = "node: internals";
    else pkg = url;
    pkgTime.set(pkg, (pkgTime.get(pkg) ?? 0) + us);
  }
  const busy = total - (fnTime.get("(idle)") ?? 0);
  const rows = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({
        name: k,
        ms: Math.round(us / 100) / 10,
        pctOfBusy: Math.round((1000 * us) / Math.max(1, busy)) / 10,
      }));
  return {
    file,
    wallMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round((fnTime.get("(idle)") ?? 0) / 1000),
    gcMs: Math.round((fnTime.get("(garbage collector)") ?? 0) / 1000),
    topFunctions: rows(fnTime).filter((r) => r.name !== "(idle)"),
    byPackageOrFile: rows(pkgTime).filter((r) => r.name !== "(idle)"),
  };
}

/** Self size and count per (type, constructor name) of a .heapsnapshot. */
function heapCensus(file) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const meta = snap.snapshot.meta;
  const F = meta.node_fields.length;
  const iType = meta.node_fields.indexOf("type");
  const iName = meta.node_fields.indexOf("name");
  const iSize = meta.node_fields.indexOf("self_size");
  const types = meta.node_types[iType];
  const census = new Map();
  let total = 0;
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i += F) {
    const type = types[nodes[i + iType]];
    let name = snap.strings[nodes[i + iName]];
    if (type === "string" || type === "concatenated string" || type === "sliced string") name = "(strings)";
    else if (type === "code") name = "(compiled code)";
    else if (type === "number") name = "(heap numbers)";
    else if (type === "array") name = `(array) ${name}`.slice(0, 60);
    else if (type === "hidden") name = `(hidden) ${name}`.slice(0, 60);
    else name = `${type === "closure" ? "closure " : ""}${name}`.slice(0, 80);
    const size = nodes[i + iSize];
    total += size;
    const e = census.get(name) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += size;
    census.set(name, e);
  }
  return { total, census };
}

export function summarizeHeap(emptyFile, loadedFile, clients, top = 30) {
  const a = emptyFile ? heapCensus(emptyFile) : { total: 0, census: new Map() };
  const b = heapCensus(loadedFile);
  const diff = [];
  for (const [name, e] of b.census) {
    const before = a.census.get(name) ?? { count: 0, bytes: 0 };
    diff.push({ name, count: e.count - before.count, bytes: e.bytes - before.bytes, totalBytes: e.bytes });
  }
  diff.sort((x, y) => y.bytes - x.bytes);
  const perClient = (x) => Math.round((x / clients) * 10) / 10;
  return {
    heapBytesEmpty: a.total,
    heapBytesLoaded: b.total,
    clients,
    heapBytesPerClient: perClient(b.total - a.total),
    note: "self sizes (not retained sizes) of JS heap objects, grouped by constructor; difference between the snapshot with the clients and the one before connecting",
    topGrowth: diff.slice(0, top).map((d) => ({
      ...d,
      bytesPerClient: perClient(d.bytes),
      countPerClient: Math.round((d.count / clients) * 100) / 100,
    })),
  };
}

function bench(args) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "bench/run.mjs"), ...args], {
    stdio: ["ignore", "ignore", "inherit"],
    cwd: REPO_ROOT,
  });
  return r.status;
}

async function main() {
  if (values["summarize-cpu"]) {
    process.stdout.write(`${JSON.stringify(summarizeCpu(values["summarize-cpu"]), null, 2)}\n`);
    return;
  }
  if (values["summarize-heap"]) {
    // One snapshot: its census; two: the second's growth over the first (per --clients).
    const [a, b] = positionals;
    if (!a) throw new Error("--summarize-heap needs one or two .heapsnapshot files");
    const summary = summarizeHeap(b ? a : undefined, b ?? a, Number(values.clients));
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const clients = Number(values.clients);
  const out = values.out;
  mkdirSync(out, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), "streamgate-profile-"));
  const common = [
    "--clients",
    String(clients),
    "--stack",
    "streamgate",
    "--repeat",
    "1",
    "--out",
    join(tmp, "results"),
    "--no-render",
  ];
  if (!values.only || values.only === "cpu") {
    for (const [scenario, extra] of [
      ["idle", ["--duration", "30"]],
      ["broadcast", ["--rate", "1,10,100", "--duration", "10,5,2"]],
    ]) {
      const dir = join(tmp, `cpu-${scenario}`);
      mkdirSync(dir, { recursive: true });
      const code = bench([scenario, ...common, ...extra, "--cpu-prof", dir]);
      const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) throw new Error(`no .cpuprofile written for ${scenario} (bench exit ${code})`);
      const summary = summarizeCpu(join(dir, file));
      summary.file = `streamgate-${scenario}-${clients}.cpuprofile`;
      summary.benchExit = code;
      summary.result = JSON.parse(
        readFileSync(join(tmp, "results", `latest-${scenario}.json`), "utf8"),
      ).runs[0];
      writeFileSync(
        join(out, `cpu-${scenario}-${clients}.summary.json`),
        `${JSON.stringify(summary, null, 2)}\n`,
      );
      if (statSync(join(dir, file)).size < 5 * 1024 * 1024)
        copyFileSync(join(dir, file), join(out, summary.file));
      process.stderr.write(`[profile] cpu ${scenario}: busy ${summary.busyMs} ms of ${summary.wallMs} ms\n`);
    }
  }
  if (!values.only || values.only === "heap") {
    const dir = join(tmp, "heap");
    mkdirSync(dir, { recursive: true });
    const code = bench(["idle", ...common, "--duration", "10", "--heap-snapshot", dir]);
    const empty = join(dir, "streamgate-empty.heapsnapshot");
    const loaded = join(dir, `streamgate-${clients}-idle.heapsnapshot`);
    const summary = summarizeHeap(empty, loaded, clients);
    summary.benchExit = code;
    summary.snapshotBytes = { empty: statSync(empty).size, loaded: statSync(loaded).size };
    summary.result = JSON.parse(readFileSync(join(tmp, "results", "latest-idle.json"), "utf8")).runs[0];
    writeFileSync(join(out, `heap-idle-${clients}.summary.json`), `${JSON.stringify(summary, null, 2)}\n`);
    process.stderr.write(`[profile] heap: ${summary.heapBytesPerClient} B/client of JS heap\n`);
  }
  rmSync(tmp, { recursive: true, force: true });
}

await main();
