/**
 * One load-generator worker thread: many client sockets (lib/gen-client.mjs) speaking
 * graphql-transport-ws, an HDR histogram of publish→receive latency, and delivery counts per
 * client. Driven by bench/lib/generator.mjs over postMessage: every command is {op, reqId, ...} and
 * is answered with {reqId, ...}.
 */
import { parentPort, workerData } from "node:worker_threads";
import hdr from "hdr-histogram-js";
import { Client, newHistogram, now, state } from "./gen-client.mjs";
import { herdOps } from "./gen-herd.mjs";

const { counters, errorSamples } = state;
const clients = [];

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool(items, limit, fn) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  });
  await Promise.all(runners);
}

const { addressBlock, addressCount, handshakeTimeoutMs } = workerData;
const localAddressOf = (globalIndex) =>
  addressCount > 1 ? `127.0.0.${1 + (Math.floor(globalIndex / addressBlock) % addressCount)}` : undefined;

const ops = {
  /**
   * Creates clients [from, from+count) of the global numbering; topics[i % topics.length], and
   * tokens[i % tokens.length] when the stack wants tokens.
   */
  async connect({ url, query, indices, topics, concurrency, tokens, variables = true, track = false }) {
    const fresh = indices.map(
      (g) =>
        new Client(g, topics[g % topics.length], {
          token: tokens?.[g % tokens.length],
          variables,
          track,
        }),
    );
    clients.push(...fresh);
    const t0 = now();
    let failed = 0;
    await pool(fresh, concurrency, async (c) => {
      if (!(await c.connect(url, query, localAddressOf(c.index), workerData.client, handshakeTimeoutMs))) {
        failed++;
        c.connectFailed = true; // never held: counted apart from clients that missed deliveries
      }
    });
    return { failed, acks: fresh.map((c) => c.ackAt - t0).filter((x) => x >= 0) };
  },

  /** Reconnects every client (after dropAll); ack times relative to `t0` (absolute ms). */
  async reconnect({ url, query, concurrency, t0 }) {
    let failed = 0;
    await pool(clients, concurrency, async (c) => {
      c.subId = 0;
      c.lastSeq = -1;
      if (!(await c.connect(url, query, localAddressOf(c.index), workerData.client))) failed++;
    });
    return { failed, acks: clients.map((c) => c.ackAt - t0) };
  },

  /** Closes every socket abruptly (no close handshake): the "drop all clients" of scenario 5. */
  async dropAll() {
    for (const c of clients) {
      c.expectClose = true;
      c.ws?.terminate();
    }
    return { dropped: clients.length };
  },

  /** Closes (1000) up to `count` of this worker's open clients, the last connected first. */
  async closeSome({ count }) {
    let closed = 0;
    for (let i = clients.length - 1; i >= 0 && closed < count; i--) {
      const c = clients[i];
      if (c.closed || !c.acked) continue;
      c.expectClose = true;
      c.ws.close(1000);
      closed++;
    }
    return { closed };
  },

  async closeAll() {
    await Promise.all(
      clients.map(
        (c) =>
          new Promise((r) => {
            c.expectClose = true;
            if (!c.ws || c.ws.readyState === 3) return r();
            c.ws.once("close", r);
            c.ws.close(1000);
            setTimeout(() => {
              c.ws.terminate();
              r();
            }, 2000).unref();
          }),
      ),
    );
    return {};
  },

  /** How many clients are acked, and how many received a warm-up event since `resetWarm`. */
  async status() {
    let acked = 0;
    let warm = 0;
    let open = 0;
    for (const c of clients) {
      if (c.acked) acked++;
      if (c.warm) warm++;
      if (!c.closed) open++;
    }
    return { clients: clients.length, acked, warm, open };
  },

  /** Cheap progress counter for drain loops. */
  async count() {
    return { received: counters.received, slowReceived: counters.slowReceived };
  },

  async resetWarm() {
    for (const c of clients) c.warm = false;
    return {};
  },

  /** Starts a measurement phase: clears the histograms and counters. */
  async reset() {
    state.histogram = newHistogram();
    state.slowHistogram = newHistogram();
    for (const c of clients) c.received = 0;
    Object.assign(counters, {
      received: 0,
      slowReceived: 0,
      warmReceived: 0,
      cursors: 0,
      gaps: 0,
      firstRecv: 0,
      lastRecv: 0,
    });
    return {};
  },

  /** Marks the first `fraction` of this worker's clients slow and stops reading their sockets. */
  async pause({ fraction }) {
    const n = Math.round(clients.length * fraction);
    for (let i = 0; i < n; i++) {
      clients[i].slow = true;
      // A slow client may legitimately be closed by the server's slow-client policy.
      clients[i].expectClose = true;
      clients[i].ws.pause();
    }
    return { paused: n };
  },

  async resume() {
    for (const c of clients) if (c.slow && !c.closed) c.ws.resume();
    return {};
  },

  /**
   * `cycles` unsubscribe+subscribe cycles on random clients over `durationMs`, paced every 10 ms.
   * A cycle is a `complete` then a `subscribe` with a new id (2 operations).
   */
  async churn({ cycles, durationMs, query }) {
    const t0 = performance.now();
    let done = 0;
    const open = clients.filter((c) => c.acked);
    while (done < cycles && open.length > 0) {
      const due = Math.min(cycles, Math.ceil((cycles * (performance.now() - t0)) / durationMs));
      while (done < due) {
        const c = open[Math.floor(Math.random() * open.length)];
        c.complete();
        c.subscribe(query);
        done++;
        counters.churnOps += 2;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return { cycles: done, ms: performance.now() - t0 };
  },

  /** Counts and histograms; `expected` = measured events per topic, to find clients that missed some. */
  async stats({ expected }) {
    let missingClients = 0;
    let slowMissing = 0;
    let slowClosed = 0;
    let healthyClosed = 0;
    let connectFailed = 0;
    for (const c of clients) {
      if (c.connectFailed) {
        connectFailed++;
        continue;
      }
      const want = expected?.[c.topic] ?? 0;
      if (c.slow) {
        slowMissing += Math.max(0, want - c.received);
        if (c.closed) slowClosed++;
      } else {
        if (c.received !== want) missingClients++;
        if (c.closed) healthyClosed++;
      }
    }
    return {
      ...counters,
      closes: { ...counters.closes },
      errorSamples,
      missingClients,
      connectFailed,
      slowMissing,
      slowClosed,
      healthyClosed,
      healthyClients: clients.filter((c) => !c.slow).length,
      slowClients: clients.filter((c) => c.slow).length,
      histogram: hdr.encodeIntoCompressedBase64(state.histogram),
      slowHistogram: hdr.encodeIntoCompressedBase64(state.slowHistogram),
    };
  },
};

Object.assign(ops, herdOps({ clients, pool, localAddressOf, clientKind: workerData.client }));

parentPort.on("message", async (msg) => {
  const { op, reqId, ...args } = msg;
  try {
    const result = await ops[op](args);
    parentPort.postMessage({ reqId, ok: true, result });
  } catch (err) {
    parentPort.postMessage({ reqId, ok: false, error: String(err?.stack ?? err) });
  }
});
