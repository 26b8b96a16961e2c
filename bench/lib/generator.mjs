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
  /**
   * `totalClients` is the global count (client i binds by its global index, so several generator
   * processes share one numbering: lib/gen-fleet.mjs); `addressBlock` clients per source address
   * (smaller to exercise the spreading with few clients); `handshakeTimeoutMs` gives up on a
   * connection not acknowledged by then (a server out of file descriptors leaves it in its backlog).
   */
  constructor({ workers, totalClients, client = "ws", addressBlock = ADDRESS_BLOCK, handshakeTimeoutMs }) {
    const spread = totalClients > addressBlock;
    const addressCount = spread ? Math.ceil(totalClients / addressBlock) : 1;
    if (addressCount > 254) throw new Error(`${addressCount} source addresses needed; 127.0.0.1-254 exist`);
    this.workers = Array.from(
      { length: workers },
      () =>
        new Worker(new URL("./gen-worker.mjs", import.meta.url), {
          workerData: { addressBlock, addressCount, client, handshakeTimeoutMs },
        }),
    );
    this.addressCount = addressCount;
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

  /**
   * Merged counters and histograms of every worker; `raw` also returns the merged histograms
   * encoded, for a caller that merges several generators (lib/gen-fleet.mjs).
   */
  async stats(expected, { raw = false } = {}) {
    return mergeStats(await this.all("stats", { expected }), { raw });
  }

  async close() {
    await this.all("closeAll").catch(() => {});
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

const SUMMED = [
  "received",
  "slowReceived",
  "warmReceived",
  "cursors",
  "gaps",
  "errors",
  "outOfOrder",
  "missingClients",
  "connectFailed",
  "slowMissing",
  "slowClosed",
  "healthyClosed",
  "healthyClients",
  "slowClients",
  "churnOps",
];

/**
 * Merges the `stats` of several workers (or of several generators' raw stats): counters summed,
 * close codes and connect-failure reasons counted, histograms merged before percentiles are taken.
 */
export function mergeStats(parts, { raw = false } = {}) {
  const merged = hdr.build(HDR);
  const slow = hdr.build(HDR);
  const out = Object.fromEntries(SUMMED.map((k) => [k, 0]));
  Object.assign(out, {
    closes: {},
    connectFailures: {},
    errorSamples: [],
    firstRecv: Number.POSITIVE_INFINITY,
    lastRecv: 0,
  });
  for (const p of parts) {
    for (const k of SUMMED) out[k] += p[k] ?? 0;
    for (const field of ["closes", "connectFailures"])
      for (const [code, n] of Object.entries(p[field] ?? {})) out[field][code] = (out[field][code] ?? 0) + n;
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
  if (raw) {
    out.histogram = hdr.encodeIntoCompressedBase64(merged);
    out.slowHistogram = hdr.encodeIntoCompressedBase64(slow);
  }
  return out;
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
