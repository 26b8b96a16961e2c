/**
 * The load generator's parent side: worker threads (one per core available to the generator), each
 * holding a share of the sockets; HDR histograms merged here before percentiles are taken.
 */
import { Worker } from "node:worker_threads";
import hdr from "hdr-histogram-js";

const HDR = {
  lowestDiscernibleValue: 1,
  highestTrackableValue: 600_000_000,
  numberOfSignificantValueDigits: 3,
};
/** Clients per source address: the ephemeral port range (32768-60999) allows ~28k per address pair. */
export const ADDRESS_BLOCK = 25_000;

export class Generator {
  constructor({ workers, totalClients, client = "ws" }) {
    const addressCount = Math.max(1, Math.ceil(totalClients / ADDRESS_BLOCK));
    this.workers = Array.from(
      { length: workers },
      () =>
        new Worker(new URL("./gen-worker.mjs", import.meta.url), {
          workerData: {
            addressBlock: ADDRESS_BLOCK,
            addressCount: totalClients > ADDRESS_BLOCK ? addressCount : 1,
            client,
          },
        }),
    );
    this.addressCount = totalClients > ADDRESS_BLOCK ? addressCount : 1;
    this.pending = new Map();
    this.nextReq = 1;
    for (const w of this.workers) {
      w.on("message", ({ reqId, ok, result, error }) => {
        const p = this.pending.get(reqId);
        this.pending.delete(reqId);
        if (ok) p?.resolve(result);
        else p?.reject(new Error(error));
      });
      w.on("error", (err) => {
        for (const p of this.pending.values()) p.reject(err);
      });
    }
  }

  call(w, op, args = {}) {
    const reqId = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.pending.set(reqId, { resolve, reject });
      w.postMessage({ op, reqId, ...args });
    });
  }

  all(op, args = {}) {
    return Promise.all(this.workers.map((w) => this.call(w, op, args)));
  }

  /**
   * Connects `count` clients (global indices from `from`), each with one subscription to
   * topics[i % topics.length]; with `tokens`, client i sends tokens[i % tokens.length] in
   * connection_init; `variables: false` for a query that takes no `$id`; `track` for scenario herd.
   * Resolves with connect timings (ms from start to each ack).
   */
  async connect({ url, query, count, topics, from = 0, concurrency = 256, tokens, variables, track }) {
    const t0 = performance.now();
    const share = this.workers.map(() => []);
    for (let i = 0; i < count; i++) share[i % this.workers.length].push(from + i);
    const results = await Promise.all(
      this.workers.map((w, k) =>
        this.call(w, "connect", {
          url,
          query,
          indices: share[k],
          topics,
          concurrency,
          tokens,
          variables,
          track,
        }),
      ),
    );
    const ms = performance.now() - t0;
    const acks = results.flatMap((r) => r.acks).sort((a, b) => a - b);
    return { ms, failed: results.reduce((s, r) => s + r.failed, 0), acked: acks.length, acks };
  }

  async status() {
    const r = await this.all("status");
    return r.reduce(
      (s, x) => ({
        clients: s.clients + x.clients,
        acked: s.acked + x.acked,
        warm: s.warm + x.warm,
        open: s.open + x.open,
      }),
      { clients: 0, acked: 0, warm: 0, open: 0 },
    );
  }

  async count() {
    const r = await this.all("count");
    return r.reduce(
      (s, x) => ({ received: s.received + x.received, slowReceived: s.slowReceived + x.slowReceived }),
      {
        received: 0,
        slowReceived: 0,
      },
    );
  }

  /** Merged counters and histograms of every worker. */
  async stats(expected) {
    const parts = await this.all("stats", { expected });
    const merged = hdr.build(HDR);
    const slow = hdr.build(HDR);
    const out = {
      received: 0,
      slowReceived: 0,
      warmReceived: 0,
      cursors: 0,
      gaps: 0,
      errors: 0,
      outOfOrder: 0,
      missingClients: 0,
      slowMissing: 0,
      slowClosed: 0,
      healthyClosed: 0,
      healthyClients: 0,
      slowClients: 0,
      churnOps: 0,
      closes: {},
      errorSamples: [],
      firstRecv: Number.POSITIVE_INFINITY,
      lastRecv: 0,
    };
    for (const p of parts) {
      for (const k of [
        "received",
        "slowReceived",
        "warmReceived",
        "cursors",
        "gaps",
        "errors",
        "outOfOrder",
        "missingClients",
        "slowMissing",
        "slowClosed",
        "healthyClosed",
        "healthyClients",
        "slowClients",
        "churnOps",
      ])
        out[k] += p[k];
      for (const [code, n] of Object.entries(p.closes)) out.closes[code] = (out.closes[code] ?? 0) + n;
      out.errorSamples.push(...p.errorSamples);
      if (p.firstRecv > 0) out.firstRecv = Math.min(out.firstRecv, p.firstRecv);
      out.lastRecv = Math.max(out.lastRecv, p.lastRecv);
      merged.add(hdr.decodeFromCompressedBase64(p.histogram));
      slow.add(hdr.decodeFromCompressedBase64(p.slowHistogram));
    }
    if (!Number.isFinite(out.firstRecv)) out.firstRecv = 0;
    out.errorSamples = out.errorSamples.slice(0, 10);
    out.latency = summarize(merged);
    out.slowLatency = summarize(slow);
    return out;
  }

  async close() {
    await this.all("closeAll").catch(() => {});
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Percentiles in milliseconds from a µs histogram. */
export function summarize(h) {
  if (h.totalCount === 0) return null;
  const ms = (us) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/** The value at percentile `p` of sorted numbers. */
export function percentileOf(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
