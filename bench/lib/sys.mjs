/**
 * Everything the harness reads from the operating system: process-tree RSS and CPU from /proc,
 * kernel socket memory from /proc/net/sockstat, load average, machine and version facts, and
 * core pinning with taskset. Linux only (the spec's machine); elsewhere the figures are null.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join } from "node:path";

export const REPO_ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const require = createRequire(import.meta.url);
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on every Linux distribution we run on
const PAGE = 4096;

function read(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Direct and indirect children of `pid` (walks /proc/<pid>/task/<tid>/children). */
export function descendants(pid) {
  const out = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop();
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      const text = read(`/proc/${p}/task/${t}/children`);
      if (!text) continue;
      for (const c of text.trim().split(/\s+/)) {
        if (!c) continue;
        const n = Number(c);
        out.push(n);
        stack.push(n);
      }
    }
  }
  return out;
}

/** `pids` plus all their descendants, deduplicated. */
export function tree(pids) {
  const all = new Set();
  for (const p of pids) {
    all.add(p);
    for (const c of descendants(p)) all.add(c);
  }
  return [...all];
}

/** VmRSS in bytes of one process (0 when gone). */
export function rssOf(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(read(`/proc/${pid}/status`) ?? "");
  return m ? Number(m[1]) * 1024 : 0;
}

/** /proc/<pid>/smaps_rollup in bytes: what of the RSS is anonymous (heap) vs file-backed (code). */
export function smapsRollup(pid) {
  const text = read(`/proc/${pid}/smaps_rollup`);
  if (!text) return null;
  const field = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  return {
    rss: field("Rss"),
    anonymous: field("Anonymous"),
    privateDirty: field("Private_Dirty"),
    sharedClean: field("Shared_Clean"),
    privateClean: field("Private_Clean"),
    // Proportional: shared pages (the node binary, uWS's addon) divided among the processes
    // mapping them, so summing Pss over several processes counts each page once.
    pss: field("Pss"),
  };
}

/** RSS summed over `pids` and their process trees, bytes. */
export function treeRss(pids) {
  let sum = 0;
  for (const p of tree(pids)) sum += rssOf(p);
  return sum;
}

/** [utime, stime] of one process in seconds ([0, 0] when gone). */
export function cpuSplitOf(pid) {
  const text = read(`/proc/${pid}/stat`);
  if (!text) return [0, 0];
  // comm may contain spaces: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return [Number(f[11]) / CLK_TCK, Number(f[12]) / CLK_TCK];
}

/**
 * Nanoseconds the main thread of `pid` spent runnable but waiting for a CPU (/proc/<pid>/schedstat).
 * Main thread only: a process's own helper threads (V8 GC, libuv) pinned to the same core would
 * otherwise add their waits and read as "starved" by other work.
 */
export function runQueueWaitNs(pid) {
  const f = (read(`/proc/${pid}/schedstat`) ?? "").split(" ");
  return Number(f[1] ?? 0);
}

/** utime+stime of one process in seconds (0 when gone). */
export function cpuSecondsOf(pid) {
  const [u, s] = cpuSplitOf(pid);
  return u + s;
}

/** CPU seconds summed over the process trees of `pids`. */
export function treeCpuSeconds(pids) {
  let sum = 0;
  for (const p of tree(pids)) sum += cpuSecondsOf(p);
  return sum;
}

/**
 * Starts a CPU window over `pids`; `stop()` returns the CPU use as a percentage of one core over the
 * window (100 = one core busy), split into user and kernel time. Processes that start later in the
 * tree are counted from zero. `children: false` counts `pids` alone, not their descendants.
 */
export function cpuWindow(pids, { children = true } = {}) {
  const set = () => (children ? tree(pids) : pids);
  const t0 = performance.now();
  const c0 = new Map(set().map((p) => [p, cpuSplitOf(p)]));
  const w0 = new Map(set().map((p) => [p, runQueueWaitNs(p)]));
  return {
    stop() {
      const secs = (performance.now() - t0) / 1000;
      let user = 0;
      let sys = 0;
      let waitNs = 0;
      for (const p of set()) {
        const [u, s] = cpuSplitOf(p);
        const [u0, s0] = c0.get(p) ?? [0, 0];
        user += u - u0;
        sys += s - s0;
        waitNs += runQueueWaitNs(p) - (w0.get(p) ?? 0);
      }
      const pct = (x) => (secs > 0 ? (100 * x) / secs : 0);
      return {
        seconds: secs,
        cpuSeconds: user + sys,
        percent: pct(user + sys),
        userPercent: pct(user),
        sysPercent: pct(sys),
        // Time runnable but not running (another process had the core): > a few % means starved.
        runQueueWaitPercent: pct(waitNs / 1e9),
      };
    },
  };
}

function coreTimes() {
  const out = {};
  for (const line of (read("/proc/stat") ?? "").split("\n")) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].split(/\s+/).map(Number);
    out[m[1]] = { user: user + nice, system, idle: idle + iowait, irq, softirq, steal };
  }
  return out;
}

/**
 * Per-core utilisation over a window from /proc/stat (percent of the window): busy = everything but
 * idle, with softirq (loopback TCP receive work lands here, charged to no process) and steal (this
 * is a VM) shown apart.
 */
export function coreWindow() {
  const a = coreTimes();
  return {
    stop() {
      const b = coreTimes();
      const out = {};
      for (const [cpu, t1] of Object.entries(b)) {
        const t0 = a[cpu];
        if (!t0) continue;
        const d = Object.fromEntries(Object.keys(t1).map((k) => [k, t1[k] - t0[k]]));
        const total = Object.values(d).reduce((x, y) => x + y, 0) || 1;
        const pct = (x) => Math.round((1000 * x) / total) / 10;
        out[`cpu${cpu}`] = {
          busy: pct(total - d.idle),
          user: pct(d.user),
          system: pct(d.system),
          softirq: pct(d.softirq + d.irq),
          steal: pct(d.steal),
        };
      }
      return out;
    },
  };
}

/** Kernel socket memory: TCP `mem` pages (all sockets of the machine) and sockets in use. */
export function sockstat() {
  const text = read("/proc/net/sockstat") ?? "";
  const m = /TCP: inuse (\d+) orphan (\d+) tw (\d+) alloc (\d+) mem (\d+)/.exec(text);
  if (!m) return null;
  return { tcpInuse: Number(m[1]), tcpAlloc: Number(m[4]), tcpMemBytes: Number(m[5]) * PAGE };
}

/**
 * Machine-wide TCP counters from /proc/net/netstat: connections dropped because a listen queue was
 * full (the client retries its SYN after 1 s, 3 s, ...: slow connects) and retransmission timeouts.
 */
export function tcpExt() {
  const lines = (read("/proc/net/netstat") ?? "").split("\n").filter((l) => l.startsWith("TcpExt:"));
  if (lines.length < 2) return null;
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  const get = (n) => values[names.indexOf(n)] ?? null;
  return { listenOverflows: get("ListenOverflows"), listenDrops: get("ListenDrops"), tcpTimeouts: get("TCPTimeouts") };
}

export function loadavg() {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

function allProcessCpu() {
  const out = new Map();
  let pids = [];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of pids) {
    const text = read(`/proc/${d}/stat`);
    if (!text) continue;
    const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    out.set(Number(d), { comm, cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK });
  }
  return out;
}

/** Processes other than ours by lifetime-average %CPU (ps), top 5 of those ≥ 5% (kept for callers). */
export function busyProcesses(exclude = []) {
  try {
    const out = execFileSync("ps", ["-eo", "pid,pcpu,comm", "--sort=-pcpu", "--no-headers"], {
      encoding: "utf8",
    });
    const ex = new Set(tree([process.pid, ...exclude]));
    return out
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter(([pid, pcpu]) => !ex.has(Number(pid)) && Number(pcpu) >= 5)
      .slice(0, 5)
      .map(([pid, pcpu, comm]) => ({ pid: Number(pid), pcpu: Number(pcpu), comm }));
  } catch {
    return [];
  }
}

/**
 * Processes other than ours that used ≥ 5% of a core over the last `windowMs` (top 5), measured
 * from /proc/<pid>/stat deltas, to record whether the machine was busy with other work right now.
 */
export async function busyProcessesNow(exclude = [], windowMs = 1000) {
  const a = allProcessCpu();
  await new Promise((r) => setTimeout(r, windowMs));
  const b = allProcessCpu();
  const ex = new Set(tree([process.pid, ...exclude]));
  const out = [];
  for (const [pid, x] of b) {
    const before = a.get(pid);
    if (!before || ex.has(pid)) continue;
    const pcpu = Math.round(((x.cpu - before.cpu) * 100000) / windowMs) / 10;
    if (pcpu >= 5) out.push({ pid, pcpu, comm: x.comm });
  }
  return out.sort((p, q) => q.pcpu - p.pcpu).slice(0, 5);
}

function pkgVersion(name) {
  try {
    const p = require.resolve(`${name}/package.json`, { paths: [REPO_ROOT] });
    return JSON.parse(readFileSync(p, "utf8")).version;
  } catch {
    // some packages do not export package.json
    const p = join(REPO_ROOT, "node_modules", name, "package.json");
    return existsSync(p) ? JSON.parse(readFileSync(p, "utf8")).version : null;
  }
}

function natsServerVersion() {
  try {
    return execFileSync("nats-server", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    hostname: os.hostname(),
    nofileLimit: nofileLimit(),
  };
}

export function versions() {
  const streamgate = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version;
  return {
    node: process.version,
    streamgate,
    "uWebSockets.js": pkgVersion("uWebSockets.js"),
    ws: pkgVersion("ws"),
    "graphql-ws": pkgVersion("graphql-ws"),
    graphql: pkgVersion("graphql"),
    "@nats-io/transport-node": pkgVersion("@nats-io/transport-node"),
    "hdr-histogram-js": pkgVersion("hdr-histogram-js"),
    "nats-server": natsServerVersion(),
  };
}

/** The soft RLIMIT_NOFILE of this process (children inherit it). */
export function nofileLimit() {
  const m = /Max open files\s+(\d+)\s+(\d+)/.exec(read("/proc/self/limits") ?? "");
  return m ? { soft: Number(m[1]), hard: Number(m[2]) } : null;
}

export function hasTaskset() {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Pins every thread of `pid` to `cpuList` ("0", "1", "0-1"). */
export function pin(pid, cpuList) {
  execFileSync("taskset", ["-a", "-p", "-c", cpuList, String(pid)], { stdio: "ignore" });
}

/**
 * Core layout: with two or more cores and taskset, the system under test gets the last core and
 * the load side (generator, publisher, broker) the others. Returns null when not pinning.
 */
export function coreLayout(disable = false) {
  const n = os.availableParallelism();
  if (disable || n < 2 || !hasTaskset()) return null;
  return { router: String(n - 1), load: n - 1 === 1 ? "0" : `0-${n - 2}`, loadCores: n - 1 };
}

/**
 * Which code was measured: the commit, the files under src/ that differ from it (several engineers
 * share this tree), and a fingerprint of dist/ (path, size, mtime of every .js file), recorded per
 * stack run because a concurrent `npm run build` can replace dist/ between runs. Read-only git.
 */
export function sourceState() {
  const git = (args) => {
    try {
      return execFileSync("git", ["--no-optional-locks", ...args], { cwd: REPO_ROOT, encoding: "utf8" });
    } catch {
      return null;
    }
  };
  const status = git(["status", "--porcelain", "--", "src"]);
  return {
    commit: git(["rev-parse", "HEAD"])?.trim() ?? null,
    srcChangedSinceCommit: status
      ? status
          .split("\n")
          .filter((l) => l.length > 3)
          .map((l) => l.slice(3))
      : [],
    distFingerprint: distFingerprint(),
  };
}

export function distFingerprint() {
  const h = createHash("sha256");
  let newest = 0;
  const walk = (dir) => {
    let entries = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".js")) {
        const st = statSync(p);
        newest = Math.max(newest, st.mtimeMs);
        h.update(`${p}:${st.size}:${st.mtimeMs}\n`);
      }
    }
  };
  walk(join(REPO_ROOT, "dist"));
  return { hash: h.digest("hex").slice(0, 16), builtAt: newest ? new Date(newest).toISOString() : null };
}
