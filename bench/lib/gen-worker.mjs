/**
 * One load-generator worker thread: many raw `ws` sockets speaking graphql-transport-ws
 * (connection_init, subscribe only after connection_ack), an HDR histogram of publish→receive
 * latency, and delivery counts per client. Driven by bench/lib/generator.mjs over postMessage:
 * every command is {op, reqId, ...} and is answered with {reqId, ...}.
 *
 * Event ids are "<seq>:<publish ts in ms with fraction>[:padding]"; warm-up events are
 * "w<k>:<ts>". The id is read straight from the frame bytes (last `"id":"` in the frame), no
 * JSON.parse per delivery.
 */
import { parentPort, workerData } from "node:worker_threads";
import hdr from "hdr-histogram-js";
import WebSocket from "ws";
import { RawWebSocket } from "./raw-ws.mjs";

const HDR = {
  lowestDiscernibleValue: 1,
  highestTrackableValue: 600_000_000,
  numberOfSignificantValueDigits: 3,
};
const ID_MARK = Buffer.from('"id":"');
const T_NEXT = Buffer.from('"type":"next"');
const newHistogram = () => hdr.build(HDR);

let histogram = newHistogram(); // healthy clients, µs
let slowHistogram = newHistogram(); // paused clients after resume, µs
const clients = [];
const counters = {
  received: 0, // measured deliveries to healthy clients
  slowReceived: 0, // measured deliveries to paused (slow) clients
  warmReceived: 0,
  errors: 0, // `error` frames, unexpected closes, socket errors
  closes: {}, // close code → count (unexpected closes only)
  outOfOrder: 0,
  firstRecv: 0,
  lastRecv: 0,
  churnOps: 0,
};
const errorSamples = [];
const now = () => performance.timeOrigin + performance.now();

function noteError(text) {
  counters.errors++;
  if (errorSamples.length < 10) errorSamples.push(text);
}

/** Parses "<seq>:<ts>..." starting at `i` in `buf`; returns [seq (-1 = warm-up), ts]. */
function parseId(buf, i) {
  let seq = 0;
  let warm = false;
  if (buf[i] === 0x77 /* w */) {
    warm = true;
    i++;
  }
  while (buf[i] !== 0x3a /* : */) seq = seq * 10 + (buf[i++] - 48);
  i++;
  let ts = 0;
  let frac = 0;
  let scale = 1;
  let c = buf[i];
  while (c >= 48 && c <= 57) {
    ts = ts * 10 + (c - 48);
    c = buf[++i];
  }
  if (c === 0x2e /* . */) {
    c = buf[++i];
    while (c >= 48 && c <= 57) {
      frac = frac * 10 + (c - 48);
      scale *= 10;
      c = buf[++i];
    }
  }
  return [warm ? -1 : seq, ts + frac / scale];
}

class Client {
  constructor(index, topic) {
    this.index = index; // global index
    this.topic = topic;
    this.ws = undefined;
    this.subId = 0;
    this.acked = false;
    this.ackAt = 0;
    this.warm = false;
    this.received = 0;
    this.lastSeq = -1;
    this.slow = false;
    this.expectClose = false;
    this.closed = false;
  }

  connect(url, query, localAddress) {
    return new Promise((resolve) => {
      this.acked = false;
      this.warm = false;
      this.closed = false;
      this.expectClose = false;
      const opts = { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 64 * 1024 * 1024 };
      if (localAddress) opts.localAddress = localAddress;
      const ws =
        workerData.client === "raw"
          ? new RawWebSocket(url, "graphql-transport-ws", opts)
          : new WebSocket(url, "graphql-transport-ws", opts);
      this.ws = ws;
      let settled = false;
      const settle = (ok) => {
        if (settled) return;
        settled = true;
        resolve(ok);
      };
      ws.on("open", () => ws.send('{"type":"connection_init"}'));
      ws.on("message", (data) => this.onMessage(data, query, settle));
      ws.on("error", (err) => {
        if (!this.expectClose) noteError(`socket error: ${err.message}`);
        settle(false);
      });
      ws.on("close", (code) => {
        this.closed = true;
        this.acked = false;
        if (!this.expectClose) {
          counters.closes[code] = (counters.closes[code] ?? 0) + 1;
          noteError(`unexpected close ${code}`);
        }
        settle(false);
      });
    });
  }

  subscribe(query) {
    this.subId++;
    this.ws.send(
      `{"id":"${this.subId}","type":"subscribe","payload":{"query":${JSON.stringify(query)},"variables":{"id":${JSON.stringify(this.topic)}}}}`,
    );
  }

  complete() {
    this.ws.send(`{"id":"${this.subId}","type":"complete"}`);
  }

  onMessage(data, query, settle) {
    if (data.indexOf(T_NEXT) >= 0) {
      const at = data.lastIndexOf(ID_MARK);
      if (at < 0) return noteError(`next without id: ${data.toString().slice(0, 200)}`);
      const [seq, ts] = parseId(data, at + ID_MARK.length);
      const t = now();
      if (seq < 0) {
        this.warm = true;
        counters.warmReceived++;
        return;
      }
      if (seq <= this.lastSeq) counters.outOfOrder++;
      this.lastSeq = seq;
      this.received++;
      const us = Math.max(1, Math.round((t - ts) * 1000));
      if (this.slow) {
        counters.slowReceived++;
        slowHistogram.recordValue(us);
      } else {
        counters.received++;
        histogram.recordValue(us);
      }
      if (counters.firstRecv === 0) counters.firstRecv = t;
      counters.lastRecv = t;
      return;
    }
    const text = data.toString();
    if (text.includes('"connection_ack"')) {
      this.acked = true;
      this.ackAt = now();
      this.subscribe(query);
      settle(true);
    } else if (text.includes('"type":"ping"')) this.ws.send('{"type":"pong"}');
    else if (text.includes('"type":"pong"')) {
      // ignore
    } else if (text.includes('"type":"error"')) noteError(`error frame: ${text.slice(0, 300)}`);
    else if (text.includes('"type":"complete"')) noteError(`server completed: ${text.slice(0, 200)}`);
    else noteError(`unexpected frame: ${text.slice(0, 200)}`);
  }
}

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

const { addressBlock, addressCount } = workerData;
const localAddressOf = (globalIndex) =>
  addressCount > 1 ? `127.0.0.${1 + (Math.floor(globalIndex / addressBlock) % addressCount)}` : undefined;

const ops = {
  /** Creates clients [from, from+count) of the global numbering; topics[i % topics.length]. */
  async connect({ url, query, indices, topics, concurrency }) {
    const fresh = indices.map((g) => new Client(g, topics[g % topics.length]));
    clients.push(...fresh);
    const t0 = now();
    let failed = 0;
    await pool(fresh, concurrency, async (c) => {
      if (!(await c.connect(url, query, localAddressOf(c.index)))) failed++;
    });
    return { failed, acks: fresh.map((c) => c.ackAt - t0).filter((x) => x >= 0) };
  },

  /** Reconnects every client (after dropAll); ack times relative to `t0` (absolute ms). */
  async reconnect({ url, query, concurrency, t0 }) {
    let failed = 0;
    await pool(clients, concurrency, async (c) => {
      c.subId = 0;
      c.lastSeq = -1;
      if (!(await c.connect(url, query, localAddressOf(c.index)))) failed++;
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
    histogram = newHistogram();
    slowHistogram = newHistogram();
    for (const c of clients) c.received = 0;
    Object.assign(counters, { received: 0, slowReceived: 0, warmReceived: 0, firstRecv: 0, lastRecv: 0 });
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
    for (const c of clients) {
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
      slowMissing,
      slowClosed,
      healthyClosed,
      healthyClients: clients.filter((c) => !c.slow).length,
      slowClients: clients.filter((c) => c.slow).length,
      histogram: hdr.encodeIntoCompressedBase64(histogram),
      slowHistogram: hdr.encodeIntoCompressedBase64(slowHistogram),
    };
  },
};

parentPort.on("message", async (msg) => {
  const { op, reqId, ...args } = msg;
  try {
    const result = await ops[op](args);
    parentPort.postMessage({ reqId, ok: true, result });
  } catch (err) {
    parentPort.postMessage({ reqId, ok: false, error: String(err?.stack ?? err) });
  }
});
