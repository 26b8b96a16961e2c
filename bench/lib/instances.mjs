/**
 * Several router instances of one stack (each its own process and port, on one broker) and what
 * is read about them from outside: per-process RSS, peak (VmHWM), anonymous vs file-backed memory,
 * open file descriptors, the open-file limit the router logged, its /metrics, and the broker's
 * view of their subscriptions (nats-server's /connz?subs=1).
 */
import { readdirSync, readFileSync } from "node:fs";
import { readMetrics } from "../scenarios/common.mjs";
import { mb } from "./harness.mjs";
import { STACKS } from "./stacks.mjs";
import { smapsRollup } from "./sys.mjs";

/**
 * Starts `n` instances of `stackName` one after another; resolves with their handles.
 * `inspectFirst`: an inspector port for instance 0 (a CPU profile of one instance, lib/inspector.mjs).
 */
export async function startInstances({ stackName, n, brokerUrl, cpus, limits, nodeArgs = [], inspectFirst }) {
  const stack = STACKS[stackName];
  if (!stack?.start || stack.fdsPerClient !== 1) throw new Error(`stack ${stackName} cannot be run here`);
  const out = [];
  try {
    for (let i = 0; i < n; i++) {
      const args = i === 0 && inspectFirst ? [...nodeArgs, `--inspect-port=127.0.0.1:${inspectFirst}`] : nodeArgs;
      const started = await stack.start({ brokerKind: "nats", brokerUrl, cpus, limits, nodeArgs: args });
      out.push({ index: i, started, pid: started.pids[0], port: started.port });
    }
  } catch (err) {
    await stopInstances(out);
    throw err;
  }
  return out;
}

export async function stopInstances(instances) {
  return Promise.all(instances.map((i) => i.started.child.stop("SIGTERM", 5000)));
}

/** VmRSS, VmHWM (bytes) and threads of one process; null when it is gone. */
export function procStatus(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM"), threads: Number(/^Threads:\s+(\d+)/m.exec(text)?.[1] ?? 0) };
}

/** Open file descriptors of a process (null when it is gone). */
export function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/**
 * Memory of every instance now: per instance RSS, peak, anonymous and file-backed (MB), open
 * fds, and the sums. Summed RSS counts the pages the processes share (node's binary, the uWS
 * addon: most of the file-backed part) once per process; `sumSharedOnceMB` counts them once. Pss
 * splits shared pages among every process mapping them, the generator's node processes too, so
 * summed Pss is below the instances' own share when other node processes run. The sum of
 * peaks is an upper bound of the peak of the sum (the instances need not peak together);
 * sumSampler's maximum is the latter.
 */
export function memorySnapshot(instances) {
  const per = instances.map((i) => {
    const st = procStatus(i.pid);
    const sm = smapsRollup(i.pid);
    return {
      instance: i.index,
      pid: i.pid,
      alive: st !== null,
      rssMB: st ? mb(st.rss) : null,
      peakMB: st ? mb(st.hwm) : null,
      anonymousMB: sm ? mb(sm.anonymous) : null,
      fileBackedMB: sm ? mb(sm.rss - sm.anonymous) : null,
      pssMB: sm?.pss != null ? mb(sm.pss) : null,
      fds: fdCount(i.pid),
    };
  });
  const sum = (k) => Math.round(per.reduce((s, x) => s + (x[k] ?? 0), 0) * 10) / 10;
  return {
    sumRssMB: sum("rssMB"),
    sumPeakMB: sum("peakMB"),
    sumAnonymousMB: sum("anonymousMB"),
    sumFileBackedMB: sum("fileBackedMB"),
    sumPssMB: sum("pssMB"),
    // The instances' own memory with the code they share counted once: every instance's anonymous
    // pages plus the largest file-backed part (the node binary and uWS's addon, mapped by all).
    sumSharedOnceMB: Math.round((sum("anonymousMB") + Math.max(0, ...per.map((x) => x.fileBackedMB ?? 0))) * 10) / 10,
    perInstance: per,
  };
}

/** Samples the summed RSS of `instances` every `everyMs`; stop() gives the highest sum seen. */
export function sumSampler(instances, everyMs = 500) {
  const sumNow = () => instances.reduce((s, i) => s + (procStatus(i.pid)?.rss ?? 0), 0);
  let max = sumNow();
  const timer = setInterval(() => {
    max = Math.max(max, sumNow());
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { maxSumRssMB: mb(max) };
    },
  };
}

/** How an instance ended, with the tail of its output, or null while it runs. */
export function exitInfo(instance) {
  const proc = instance.started.child.proc;
  if (proc.exitCode === null && proc.signalCode === null) return null;
  return { exitCode: proc.exitCode, signal: proc.signalCode, outputTail: instance.started.child.tail().slice(-4000) };
}

/** The router's `open_files_limit: {soft, hard}` from its start-up line (Streamgate only). */
export function loggedFdLimit(instance) {
  for (const line of instance.started.child.tail().split("\n")) {
    if (!line.includes("open_files_limit")) continue;
    try {
      return JSON.parse(line).open_files_limit ?? null;
    } catch {
      // not a JSON line
    }
  }
  return null;
}

/** Each instance's /metrics series (summed over labels); nulls for a stack without /metrics. */
export async function instanceMetrics(instances, names) {
  return Promise.all(instances.map(async (i) => ({ instance: i.index, ...(await readMetrics(i.port, names)) })));
}

/**
 * nats-server's view (/connz?subs=1): the connections holding a subscription that matches
 * `subject` (exactly, or by a `>` / `*` wildcard), and how many such subscriptions each holds.
 */
export async function brokerSubscriptions(monitorUrl, subject) {
  const res = await fetch(`${monitorUrl}/connz?subs=1&limit=10000`);
  const body = await res.json();
  const matching = (s) => subjectMatches(s, subject);
  const conns = (body.connections ?? []).map((c) => ({
    cid: c.cid,
    name: c.name ?? "",
    port: c.port,
    subscriptions: c.subscriptions_list ?? [],
  }));
  const holders = conns
    .map((c) => ({ ...c, matching: c.subscriptions.filter(matching).length }))
    .filter((c) => c.matching > 0);
  return {
    connections: conns.length,
    holders: holders.length,
    matchingSubscriptions: holders.reduce((s, c) => s + c.matching, 0),
    perConnection: holders.map((c) => ({ cid: c.cid, name: c.name, subscriptions: c.subscriptions })),
  };
}

/** Whether NATS subscription `pattern` receives `subject` (tokens, `*` one, `>` the rest). */
export function subjectMatches(pattern, subject) {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
