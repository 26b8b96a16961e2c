/**
 * A load generator spread over several processes (lib/gen-process.mjs), for runs with more
 * clients than one process may hold sockets (RLIMIT_NOFILE, 20,000 here). It has the Generator's
 * shape (`all`, `status`, `count`, `stats`, `close`), so lib/publisher.mjs's warmUp and
 * scenarios/common.mjs's drain work on it unchanged. Clients keep one global numbering: client i
 * binds source address 127.0.0.(1 + ⌊i / addressBlock⌋) in whichever process holds it.
 */
import { fork } from "node:child_process";
import { mergeStats } from "./generator.mjs";
import { pin, tree } from "./sys.mjs";

const GEN_PROCESS = new URL("./gen-process.mjs", import.meta.url).pathname;

export class GeneratorFleet {
  /**
   * `processes` children, each a Generator with `workersPerProcess` worker threads;
   * `totalClients` is the global count (source addresses follow from it); `cpus` pins them.
   */
  constructor({
    processes,
    workersPerProcess = 1,
    totalClients,
    client = "ws",
    addressBlock,
    handshakeTimeoutMs,
    cpus,
  }) {
    this.cpus = cpus;
    this.pending = new Map();
    this.nextReq = 1;
    const options = { workers: workersPerProcess, totalClients, client, addressBlock, handshakeTimeoutMs };
    this.children = Array.from({ length: processes }, () => {
      const child = fork(GEN_PROCESS, [JSON.stringify(options)], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        // Each generator process holds ~20 MB of `ws` state per 1,000 sockets at most: room for 20k.
        execArgv: ["--max-old-space-size=4096"],
      });
      child.on("message", (msg) => {
        if (msg.ready) return child.emit("ready");
        const p = this.pending.get(msg.reqId);
        this.pending.delete(msg.reqId);
        if (msg.ok) p?.resolve(msg.result);
        else p?.reject(new Error(msg.error));
      });
      child.on("exit", (code, signal) => {
        for (const [id, p] of this.pending)
          if (p.child === child) {
            this.pending.delete(id);
            p.reject(new Error(`generator process ${child.pid} exited (${code ?? signal})`));
          }
      });
      return child;
    });
    this.ready = Promise.all(
      this.children.map(
        (c) =>
          new Promise((resolve, reject) => {
            c.once("ready", resolve);
            c.once("exit", (code) => reject(new Error(`generator process exited (${code}) before ready`)));
          }),
      ),
    ).then(() => {
      // After start-up, so the worker threads exist and `taskset -a` pins them too.
      if (cpus) for (const c of this.children) pin(c.pid, cpus);
      return this;
    });
  }

  /** The generator processes and their threads' pids (for CPU windows). */
  get pids() {
    return tree(this.children.map((c) => c.pid));
  }

  call(k, op, args = {}) {
    const child = this.children[k];
    const reqId = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.pending.set(reqId, { resolve, reject, child });
      child.send({ reqId, op, args });
    });
  }

  all(op, args = {}) {
    return Promise.all(this.children.map((_, k) => this.call(k, op, args)));
  }

  /**
   * Connects the clients of `jobs` ([{url, from, count}], global indices), each job split evenly
   * over the processes (so every process holds a share of every instance's clients). The processes
   * run at once, each through its shares one after another starting at a different job (process k
   * at job k), so the burst is spread over the instances. Resolves with the wall time and failures.
   */
  async connect({ jobs, query, topics, concurrency = 256 }) {
    const t0 = performance.now();
    const n = this.children.length;
    const shares = this.children.map(() => []);
    for (const job of jobs) {
      for (let k = 0; k < n; k++) {
        const from = job.from + Math.floor((job.count * k) / n);
        const to = job.from + Math.floor((job.count * (k + 1)) / n);
        if (to > from) shares[k].push({ url: job.url, from, count: to - from });
      }
    }
    const results = await Promise.all(
      shares.map(async (share, k) => {
        let failed = 0;
        let acked = 0;
        for (let j = 0; j < share.length; j++) {
          const s = share[(j + k) % share.length];
          const r = await this.call(k, "connect", { ...s, query, topics, concurrency });
          failed += r.failed;
          acked += r.acked;
        }
        return { failed, acked };
      }),
    );
    return {
      ms: performance.now() - t0,
      failed: results.reduce((s, r) => s + r.failed, 0),
      acked: results.reduce((s, r) => s + r.acked, 0),
    };
  }

  async status() {
    const r = await this.all("status");
    const sum = (k) => r.reduce((s, x) => s + x[k], 0);
    return { clients: sum("clients"), acked: sum("acked"), warm: sum("warm"), open: sum("open") };
  }

  async count() {
    const r = await this.all("count");
    return {
      received: r.reduce((s, x) => s + x.received, 0),
      slowReceived: r.reduce((s, x) => s + x.slowReceived, 0),
    };
  }

  /** Every process's counters and histograms merged (HDR merge, then percentiles). */
  async stats(expected, { raw = false } = {}) {
    return mergeStats(await this.all("stats", { expected }), { raw });
  }

  async close() {
    await Promise.all(
      this.children.map(async (c, k) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once("exit", r));
        await Promise.race([this.call(k, "close").catch(() => {}), exited]);
        c.kill("SIGKILL");
        await exited;
      }),
    );
  }
}
