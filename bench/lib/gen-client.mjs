/**
 * One generator client (used by lib/gen-worker.mjs): a raw `ws` socket (or lib/raw-ws.mjs)
 * speaking graphql-transport-ws, `connection_init` (with a token when the stack wants one),
 * `subscribe` only after `connection_ack`, and counting of what arrives, read from the frame bytes
 * (no JSON.parse per delivery).
 *
 * Event ids are "<seq>:<publish ts in ms with fraction>[:padding]"; warm-up events are
 * "w<k>:<ts>". The id is the last `"id":"` in the frame (an at-least-once frame's extensions come
 * after it and hold no such key).
 *
 * A tracking client (scenario herd) also keeps its last cursor (`extensions.cursor`), which events
 * it has seen (a bitmap over seq), its duplicates, the longest prefix 1..n it holds, and when that
 * prefix first reached `target` after a resume.
 */
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
const CURSOR_MARK = Buffer.from('"cursor":"');
const GAP_MARK = Buffer.from('"gap":true');
export const newHistogram = () => hdr.build(HDR);
export const now = () => performance.timeOrigin + performance.now();

/** The worker's shared counters and histograms (one set per worker thread). */
export const state = {
  histogram: newHistogram(), // healthy clients, µs
  slowHistogram: newHistogram(), // paused clients after resume, µs
  errorSamples: [],
  counters: {
    received: 0, // measured deliveries to healthy clients (tracking clients: duplicates included)
    slowReceived: 0, // measured deliveries to paused (slow) clients
    warmReceived: 0,
    cursors: 0, // measured deliveries that carried extensions.cursor
    gaps: 0, // frames with extensions.gap: true
    errors: 0, // `error` frames, unexpected closes, socket errors
    closes: {}, // close code → count (unexpected closes only)
    connectFailures: {}, // why a connection was never acknowledged → count (cumulative)
    outOfOrder: 0,
    firstRecv: 0,
    lastRecv: 0,
    churnOps: 0,
  },
};

export function noteError(text) {
  state.counters.errors++;
  if (state.errorSamples.length < 10) state.errorSamples.push(text);
}

/** Parses "<seq>:<ts>..." starting at `i` in `buf`; returns [seq (-1 = warm-up), ts]. */
export function parseId(buf, i) {
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

/** The `extensions.cursor` of a frame (base64url, no escapes), or undefined. */
export function cursorOf(buf) {
  const at = buf.indexOf(CURSOR_MARK);
  if (at < 0) return undefined;
  const start = at + CURSOR_MARK.length;
  const end = buf.indexOf(0x22 /* " */, start);
  return end > start ? buf.toString("latin1", start, end) : undefined;
}

/** The graphql-transport-ws subscribe message; `cursor` resumes (docs/delivery.md). */
export function subscribeMessage(id, query, variables, cursor) {
  const vars = variables === undefined ? "" : `,"variables":${JSON.stringify(variables)}`;
  const ext = cursor ? `,"extensions":{"cursor":${JSON.stringify(cursor)}}` : "";
  return `{"id":"${id}","type":"subscribe","payload":{"query":${JSON.stringify(query)}${vars}${ext}}}`;
}

export class Client {
  /**
   * `token`: sent as connection_init's `Authorization: Bearer …`; `variables`: whether the query
   * takes the topic as `$id`; `track`: keep cursor and per-event bookkeeping (scenario herd).
   */
  constructor(index, topic, { token, variables = true, track = false } = {}) {
    this.index = index; // global index
    this.topic = topic;
    this.init = token
      ? `{"type":"connection_init","payload":{"Authorization":${JSON.stringify(`Bearer ${token}`)}}}`
      : '{"type":"connection_init"}';
    this.variables = variables ? { id: topic } : undefined;
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
    this.retrying = false;
    this.track = track;
    if (track) {
      this.cursor = undefined; // last cursor received
      this.resumeFrom = undefined; // cursor sent with the next subscribe
      this.seen = new Uint8Array(64);
      this.distinct = 0;
      this.dups = 0;
      this.maxSeq = 0;
      this.contig = 0; // every seq in 1..contig seen
      this.target = 0;
      this.caughtUpAt = 0;
    }
  }

  /**
   * Resolves true once acknowledged, false when the connection failed first (the reason is counted
   * in `connectFailures`); with `timeoutMs`, a connection not acknowledged by then is dropped.
   */
  connect(url, query, localAddress, clientKind, timeoutMs) {
    return new Promise((resolve) => {
      this.acked = false;
      this.warm = false;
      this.closed = false;
      this.expectClose = false;
      const opts = { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 64 * 1024 * 1024 };
      if (localAddress) opts.localAddress = localAddress;
      const ws =
        clientKind === "raw"
          ? new RawWebSocket(url, "graphql-transport-ws", opts)
          : new WebSocket(url, "graphql-transport-ws", opts);
      this.ws = ws;
      let settled = false;
      let timer;
      const settle = (ok, reason) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!ok) {
          const f = state.counters.connectFailures;
          f[reason ?? "closed before ack"] = (f[reason ?? "closed before ack"] ?? 0) + 1;
        }
        resolve(ok);
      };
      if (timeoutMs)
        timer = setTimeout(() => {
          if (settled) return;
          this.expectClose = true; // given up on: its end is not an error
          settle(false, `no ack within ${timeoutMs} ms`);
          ws.terminate();
        }, timeoutMs);
      // A socket replaced by a reconnect may still report its end: it no longer speaks for us.
      const current = () => this.ws === ws;
      // A retrying client (scenario herd) counts a failed attempt, not an error.
      const quiet = () => this.expectClose || (this.retrying && !this.acked);
      ws.on("open", () => ws.send(this.init));
      ws.on("message", (data) => current() && this.onMessage(data, query, settle));
      ws.on("error", (err) => {
        if (current() && !quiet()) noteError(`socket error: ${err.message}`);
        settle(false, err.code ?? err.message);
      });
      ws.on("close", (code) => {
        settle(false, `closed ${code} before ack`);
        if (!current()) return;
        const wasQuiet = quiet();
        this.closed = true;
        this.acked = false;
        if (!wasQuiet) {
          state.counters.closes[code] = (state.counters.closes[code] ?? 0) + 1;
          noteError(`unexpected close ${code}`);
        }
      });
    });
  }

  subscribe(query) {
    this.subId++;
    this.ws.send(
      subscribeMessage(this.subId, query, this.variables, this.track ? this.resumeFrom : undefined),
    );
  }

  complete() {
    this.ws.send(`{"id":"${this.subId}","type":"complete"}`);
  }

  onMessage(data, query, settle) {
    if (data.indexOf(T_NEXT) >= 0) return this.onNext(data);
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

  onNext(data) {
    const { counters } = state;
    const at = data.lastIndexOf(ID_MARK);
    if (at < 0) return noteError(`next without id: ${data.toString().slice(0, 200)}`);
    const [seq, ts] = parseId(data, at + ID_MARK.length);
    const t = now();
    const cursor = cursorOf(data);
    if (this.track && cursor) this.cursor = cursor;
    if (data.indexOf(GAP_MARK) >= 0) counters.gaps++;
    if (seq < 0) {
      this.warm = true;
      counters.warmReceived++;
      return;
    }
    if (cursor) counters.cursors++;
    if (this.track) this.note(seq, t);
    else if (seq <= this.lastSeq) counters.outOfOrder++;
    this.lastSeq = seq;
    this.received++;
    const us = Math.max(1, Math.round((t - ts) * 1000));
    if (this.slow) {
      counters.slowReceived++;
      state.slowHistogram.recordValue(us);
    } else {
      counters.received++;
      state.histogram.recordValue(us);
    }
    if (counters.firstRecv === 0) counters.firstRecv = t;
    counters.lastRecv = t;
  }

  /** Tracking: a duplicate, or a new event (out of order when an earlier one is still missing). */
  note(seq, t) {
    if (seq >= this.seen.length * 8) {
      const grown = new Uint8Array(Math.max(this.seen.length * 2, (seq >> 3) + 1));
      grown.set(this.seen);
      this.seen = grown;
    }
    const bit = 1 << (seq & 7);
    if (this.seen[seq >> 3] & bit) {
      this.dups++;
      return;
    }
    this.seen[seq >> 3] |= bit;
    this.distinct++;
    if (seq < this.maxSeq) state.counters.outOfOrder++;
    else this.maxSeq = seq;
    while (this.has(this.contig + 1)) this.contig++;
    if (this.target > 0 && this.caughtUpAt === 0 && this.contig >= this.target) this.caughtUpAt = t;
  }

  has(seq) {
    return seq < this.seen.length * 8 && (this.seen[seq >> 3] & (1 << (seq & 7))) !== 0;
  }
}
