/**
 * The session buffer's pure parts (docs/delivery.md, "Session buffer"): the Redis keys of one
 * log, its positions, and log entries to and from broker events. No I/O, so everything a hostile
 * or corrupted log can hand us is decided here and unit-tested.
 *
 * A log is a Redis stream whose entry ids are `<position>-0`: positions are our own consecutive
 * integers, so "position + 1 is gone" means events were dropped. Entries are either an event
 * (`t` topic, `d` data, optional `h` headers as JSON) or a gap marker (`g`), which the writer
 * appends when events may have been lost before it (a new writer took over, or it could not
 * append for a while).
 */
import { createHash } from "node:crypto";
import type { BrokerEvent, EventPosition } from "../../providers/provider.js";

/** The Redis keys of one log and the partition key its positions have in cursors. */
export interface LogKeys {
  /** Partition key in cursors; also names the log in its Redis keys. */
  readonly id: string;
  /** The stream of entries. */
  readonly log: string;
  /** Which instance may append (SET NX PX, renewed). */
  readonly lease: string;
  /** ZSET: instance → when its interest ends (ms, Redis clock). */
  readonly interest: string;
}

/**
 * Keys of the log of one broker subscription (provider id + its topics, sorted as the topic
 * registry gives them). Every instance computes the same keys from the same config. The keys of a
 * provider share one hash tag, so a blocking read over all of them works on Redis Cluster too.
 */
export function logKeys(providerId: string, topics: readonly string[]): LogKeys {
  const id = createHash("sha256")
    .update(`${providerId}\u0001${topics.join("\u0001")}`)
    .digest("base64url")
    .slice(0, 16);
  const base = `streamgate:buffer:{${providerId}}:${id}`;
  return { id, log: `${base}:log`, lease: `${base}:lease`, interest: `${base}:interest` };
}

/** The stream id of a position. */
export function streamId(position: number): string {
  return `${position}-0`;
}

/** The position of a stream id this buffer wrote (`<n>-0`, n a safe integer); undefined otherwise. */
export function positionOfId(id: string): number | undefined {
  const m = /^(\d{1,16})-0$/.exec(id);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The first part of any stream id (`<ms>-<seq>`), for moving past entries that are not ours. */
export function idPrefix(id: string): number | undefined {
  const m = /^(\d{1,16})-\d+$/.exec(id);
  const n = m ? Number(m[1]) : Number.NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `BrokerEvent.position` of a buffered event: the log's id and the position in it. */
export function eventPosition(logId: string, position: number): string {
  return `${logId}@${position}`;
}

/** The cursor position of a buffered event; undefined for events that did not come from a log. */
export function parseEventPosition(position: string | undefined): EventPosition | undefined {
  if (position === undefined) return undefined;
  const at = position.lastIndexOf("@");
  const digits = position.slice(at + 1);
  if (at <= 0 || !/^\d{1,16}$/.test(digits)) return undefined;
  const offset = Number(digits);
  return Number.isSafeInteger(offset) ? { key: position.slice(0, at), offset } : undefined;
}

/** One entry read back from a log. */
export type LogEntry =
  | { readonly kind: "event"; readonly id: string; readonly position: number; readonly event: BrokerEvent }
  | { readonly kind: "gap"; readonly id: string; readonly position: number }
  /** Not something this buffer wrote (foreign id or fields): skipped, counted. */
  | { readonly kind: "invalid"; readonly id: string | undefined };

const text = (v: unknown): string | undefined =>
  typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString("utf8") : undefined;

/** Headers as stored: a JSON object of strings, or undefined when absent or anything else. */
function parseHeaders(raw: unknown): Record<string, string> | undefined | false {
  if (raw === undefined) return undefined;
  const s = text(raw);
  if (s === undefined) return false;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    return false;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const entries = Object.entries(v as Record<string, unknown>);
  if (!entries.every(([, x]) => typeof x === "string")) return false;
  return Object.fromEntries(entries) as Record<string, string>;
}

/**
 * One stream entry as Redis returns it (`[id, [field, value, …]]`, strings or Buffers) → a log
 * entry. Anything malformed is `invalid`, never an exception: the log lives in a shared Redis.
 */
export function parseEntry(logId: string, raw: unknown): LogEntry {
  if (!Array.isArray(raw) || raw.length !== 2) return { kind: "invalid", id: undefined };
  const id = text(raw[0]);
  const flat = raw[1];
  if (id === undefined) return { kind: "invalid", id: undefined };
  const position = positionOfId(id);
  if (position === undefined || !Array.isArray(flat) || flat.length % 2 !== 0) return { kind: "invalid", id };
  const fields = new Map<string, unknown>();
  for (let i = 0; i < flat.length; i += 2) {
    const name = text(flat[i]);
    if (name === undefined) return { kind: "invalid", id };
    fields.set(name, flat[i + 1]);
  }
  if (fields.has("g")) return { kind: "gap", id, position };
  const topic = text(fields.get("t"));
  const data = fields.get("d");
  const dataBytes = Buffer.isBuffer(data) ? data : typeof data === "string" ? Buffer.from(data) : undefined;
  const headers = parseHeaders(fields.get("h"));
  if (topic === undefined || topic === "" || dataBytes === undefined || headers === false) {
    return { kind: "invalid", id };
  }
  const event: BrokerEvent = {
    topic,
    data: new Uint8Array(dataBytes.buffer, dataBytes.byteOffset, dataBytes.byteLength),
    position: eventPosition(logId, position),
    ...(headers ? { headers } : {}),
  };
  return { kind: "event", id, position, event };
}

/** A list of raw entries (XRANGE, or one stream of an XREAD reply) → log entries; not a list: none. */
export function parseEntries(logId: string, raw: unknown): LogEntry[] {
  return Array.isArray(raw) ? raw.map((e) => parseEntry(logId, e)) : [];
}

/**
 * An XREAD reply → entries per stream key. RESP2 servers answer `[[key, entries], …]`; over RESP3
 * the reply is a map, which ioredis hands over flattened as `[key, entries, key, entries, …]`.
 * Both are read; null (the block ran out) is none. Malformed parts are dropped here; what the
 * entries hold is judged by {@link parseEntry}.
 */
export function parseReadReply(raw: unknown): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  if (!Array.isArray(raw)) return out;
  const add = (k: unknown, entries: unknown): void => {
    const key = text(k);
    if (key !== undefined && Array.isArray(entries)) out.set(key, entries);
  };
  if (raw.every((item) => Array.isArray(item) && item.length === 2 && !Array.isArray(item[0]))) {
    for (const [k, entries] of raw as [unknown, unknown][]) add(k, entries);
  } else if (raw.length % 2 === 0) {
    for (let i = 0; i < raw.length; i += 2) add(raw[i], raw[i + 1]);
  }
  return out;
}

/** The append script's arguments for `events`: topic, data, headers JSON ('' when none), each. */
export function appendArgs(events: readonly BrokerEvent[]): (string | Buffer)[] {
  const args: (string | Buffer)[] = [];
  for (const e of events) {
    args.push(
      e.topic,
      Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength),
      e.headers && Object.keys(e.headers).length > 0 ? JSON.stringify(e.headers) : "",
    );
  }
  return args;
}
