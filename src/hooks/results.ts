/**
 * What a hook returns is input too (docs/hooks.md, "What hooks may return"): every result is
 * checked here before the router uses it. Pure functions, no I/O; fuzzed in test/fuzz. Data is
 * taken as its JSON form (a round trip), so what reaches resolution and the broker is plain JSON
 * the hook can no longer change, and anything JSON cannot carry (BigInt, cycles) is refused.
 */
import type { JsonObject } from "./types.js";

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** Events one onReceiveEvents call may return: a hook enriching a batch may add, not flood. */
export const MAX_RECEIVED_EVENTS = 10_000;
/** Headers one event or publish may carry, and their sizes. */
export const MAX_HEADERS = 64;
const MAX_HEADER_NAME = 256;
const MAX_HEADER_VALUE = 8192;
/** A Kafka key's length. */
const MAX_KEY = 16_384;

/** HTTP token characters: what NATS and Kafka header names accept without surprises. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** CR, LF and NUL would split a NATS header block. */
const HEADER_VALUE_BAD = /[\r\n\0]/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/**
 * `value` as a JSON object no larger than `maxBytes` serialized (UTF-16 units, a cheap upper
 * bound of the bytes' count for ASCII): a fresh copy, made by JSON itself.
 */
export function jsonObject(value: unknown, what: string, maxBytes: number): Checked<JsonObject> {
  if (!isPlainObject(value)) return fail(`${what} must be a JSON object, not ${describe(value)}`);
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    // BigInt, a cycle, a throwing toJSON or getter.
    return fail(`${what} is not JSON-serializable (${err instanceof Error ? err.name : "error"})`);
  }
  if (typeof text !== "string") return fail(`${what} is not JSON-serializable`);
  if (text.length > maxBytes) return fail(`${what} is larger than ${maxBytes} bytes as JSON`);
  const copy: unknown = JSON.parse(text);
  // A toJSON() may turn an object into something else.
  if (!isPlainObject(copy)) return fail(`${what} must be a JSON object, not ${describe(copy)}`);
  return { ok: true, value: copy };
}

/** Header names and values as strings; `undefined` is no headers. */
export function headerRecord(value: unknown, what: string): Checked<Record<string, string>> {
  if (value === undefined) return { ok: true, value: {} };
  if (!isPlainObject(value)) return fail(`${what} must be an object of strings, not ${describe(value)}`);
  const names = Object.keys(value);
  if (names.length > MAX_HEADERS) return fail(`${what} has more than ${MAX_HEADERS} entries`);
  const out: Record<string, string> = {};
  for (const name of names) {
    if (name.length > MAX_HEADER_NAME || !HEADER_NAME.test(name))
      return fail(`${what}: ${JSON.stringify(name.slice(0, 40))} is not a valid header name`);
    const v = value[name];
    if (typeof v !== "string") return fail(`${what}.${name} must be a string, not ${describe(v)}`);
    if (v.length > MAX_HEADER_VALUE || HEADER_VALUE_BAD.test(v))
      return fail(`${what}.${name} is longer than ${MAX_HEADER_VALUE} characters or holds CR, LF or NUL`);
    out[name] = v;
  }
  return { ok: true, value: out };
}

/** Keys of `obj` outside `allowed`, if any: a typo (`header` for `headers`) is refused, not ignored. */
function unknownKey(obj: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  return Object.keys(obj).find((k) => !allowed.includes(k));
}

/** Topics one onSubscriptionCreate result may list at all (limits.max_topics_per_subscription applies after). */
export const MAX_CREATE_TOPICS = 100_000;

/**
 * onSubscriptionCreate: `{ topics }` or nothing. The caller checks the topics like rendered
 * templates (broker rules, wildcards, limits.max_topics_per_subscription: LIMIT_EXCEEDED).
 */
function createResultUnguarded(value: unknown): Checked<readonly string[] | undefined> {
  if (value === undefined || value === null) return { ok: true, value: undefined };
  if (!isPlainObject(value)) return fail(`the result must be { topics } or nothing, not ${describe(value)}`);
  const extra = unknownKey(value, ["topics"]);
  if (extra !== undefined) return fail(`unknown key ${JSON.stringify(extra.slice(0, 40))} in the result`);
  const topics = value.topics;
  if (!Array.isArray(topics)) return fail(`topics must be an array of strings, not ${describe(topics)}`);
  if (topics.length === 0) return fail("topics is empty: the subscription would receive nothing");
  if (topics.length > MAX_CREATE_TOPICS) return fail(`more than ${MAX_CREATE_TOPICS} topics`);
  for (const t of topics) {
    if (typeof t !== "string" || t === "") return fail("every topic must be a non-empty string");
  }
  return { ok: true, value: topics as string[] };
}

/** onDeliver: what to do with the event. */
export type DeliverOutcome =
  | { readonly kind: "keep" }
  | { readonly kind: "drop" }
  | { readonly kind: "map"; readonly data: JsonObject };

function deliverResultUnguarded(value: unknown, maxBytes: number): Checked<DeliverOutcome> {
  if (value === undefined) return { ok: true, value: { kind: "keep" } };
  if (value === null || value === false) return { ok: true, value: { kind: "drop" } };
  if (!isPlainObject(value))
    return fail(`the result must be { data }, null, false or nothing, not ${describe(value)}`);
  const extra = unknownKey(value, ["data"]);
  if (extra !== undefined) return fail(`unknown key ${JSON.stringify(extra.slice(0, 40))} in the result`);
  const data = jsonObject(value.data, "data", maxBytes);
  return data.ok ? { ok: true, value: { kind: "map", data: data.value } } : data;
}

/** onPublish: the message as it goes to the broker. */
export interface PublishOutcome {
  readonly data: JsonObject | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly key: string | undefined;
}

function publishResultUnguarded(value: unknown, maxBytes: number): Checked<PublishOutcome> {
  const none = { data: undefined, headers: undefined, key: undefined };
  if (value === undefined || value === null) return { ok: true, value: none };
  if (!isPlainObject(value))
    return fail(`the result must be { data?, headers?, key? } or nothing, not ${describe(value)}`);
  const extra = unknownKey(value, ["data", "headers", "key"]);
  if (extra !== undefined) return fail(`unknown key ${JSON.stringify(extra.slice(0, 40))} in the result`);
  let data: JsonObject | undefined;
  if (value.data !== undefined) {
    const d = jsonObject(value.data, "data", maxBytes);
    if (!d.ok) return d;
    data = d.value;
  }
  let headers: Record<string, string> | undefined;
  if (value.headers !== undefined) {
    const h = headerRecord(value.headers, "headers");
    if (!h.ok) return h;
    headers = h.value;
  }
  const key = value.key;
  if (key !== undefined && (typeof key !== "string" || key.length > MAX_KEY))
    return fail(`key must be a string of at most ${MAX_KEY} characters`);
  return { ok: true, value: { data, headers, key: key as string | undefined } };
}

/**
 * Where an event handed to onReceiveEvents came from: an enumerable symbol, so a copy made with
 * `{ ...event, data }` keeps it, while JSON (what reaches clients and brokers) never shows it.
 */
export const ORIGIN: unique symbol = Symbol("streamgate.origin");

/** One event onReceiveEvents returned, checked; `origin` is the index of the event it came from. */
export interface ReceivedEvent {
  readonly data: JsonObject;
  readonly headers: Record<string, string>;
  readonly origin: number | undefined;
}

/**
 * onReceiveEvents: the events to dispatch. Nothing = all of them unchanged. An event keeps the
 * broker position of the input it came from: the object itself or a spread copy (ORIGIN), else,
 * when the hook built every event afresh and returned as many as it got, the one at the same
 * index; others are new (no position).
 */
function receiveResultUnguarded(
  value: unknown,
  inputs: readonly { readonly [ORIGIN]: number }[],
  maxBytes: number,
): Checked<readonly ReceivedEvent[] | undefined> {
  if (value === undefined || value === null) return { ok: true, value: undefined };
  if (!Array.isArray(value)) return fail(`the result must be an array of events, not ${describe(value)}`);
  if (value.length > MAX_RECEIVED_EVENTS) return fail(`more than ${MAX_RECEIVED_EVENTS} events`);
  const known = new Set<unknown>(inputs.map((x) => x[ORIGIN]));
  const tagOf = (ev: unknown): unknown =>
    ev !== null && typeof ev === "object" ? (ev as { [ORIGIN]?: unknown })[ORIGIN] : undefined;
  // By index only when the hook built every event afresh (none carries a tag) and kept the count.
  const byIndex = value.length === inputs.length && !value.some((ev) => known.has(tagOf(ev)));
  const out: ReceivedEvent[] = [];
  for (let i = 0; i < value.length; i++) {
    const ev: unknown = value[i];
    if (!isPlainObject(ev))
      return fail(`event ${i} must be an object { data, headers? }, not ${describe(ev)}`);
    const data = jsonObject(ev.data, `event ${i}: data`, maxBytes);
    if (!data.ok) return data;
    const headers = headerRecord(ev.headers, `event ${i}: headers`);
    if (!headers.ok) return headers;
    const tagged = tagOf(ev);
    const origin =
      typeof tagged === "number" && known.has(tagged) ? tagged : byIndex ? inputs[i]![ORIGIN] : undefined;
    out.push({ data: data.value, headers: headers.value, origin });
  }
  return { ok: true, value: out };
}

/**
 * A result's getters or a Proxy's traps run while it is read, and may throw: that is a refused
 * result like any other, never an exception in the router.
 */
function guarded<A extends unknown[], T>(check: (...args: A) => Checked<T>): (...args: A) => Checked<T> {
  return (...args) => {
    try {
      return check(...args);
    } catch (err) {
      return fail(`the result could not be read (${err instanceof Error ? err.name : "a throw"})`);
    }
  };
}

export const createResult = guarded(createResultUnguarded);
export const deliverResult = guarded(deliverResultUnguarded);
export const publishResult = guarded(publishResultUnguarded);
export const receiveResult = guarded(receiveResultUnguarded);

/** An event passed to `emit()` in onSubscriptionStart. */
export const emittedEvent = guarded(
  (value: unknown, maxBytes: number): Checked<JsonObject> => jsonObject(value, "the emitted event", maxBytes),
);
