/**
 * The session buffer's pure parts (src/delivery/buffer/codec.ts): keys, positions, and what a
 * log entry or an XREAD reply is, whatever a shared Redis hands back.
 */
import { describe, expect, it } from "vitest";
import {
  appendArgs,
  eventPosition,
  idPrefix,
  logKeys,
  parseEntries,
  parseEntry,
  parseEventPosition,
  parseReadReply,
  positionOfId,
  streamId,
} from "../../../src/delivery/buffer/codec.js";
import { DeliverySink } from "../../../src/delivery/sink.js";
import type { EventMeta, OperationSink } from "../../../src/engine/types.js";
import { brokerSources } from "../../../src/fanout/keys.js";

const b = (s: string) => Buffer.from(s);

describe("logKeys", () => {
  it("is the same on every instance for the same provider and topics, and differs otherwise", () => {
    const k = logKeys("default", ["a.b"]);
    expect(logKeys("default", ["a.b"])).toEqual(k);
    expect(logKeys("other", ["a.b"]).id).not.toBe(k.id);
    expect(logKeys("default", ["a.c"]).id).not.toBe(k.id);
    // Topics joined with a separator no topic holds: ["a", "b"] is not ["a\u0001b"] by accident of joining.
    expect(logKeys("default", ["a", "b"]).id).not.toBe(logKeys("default", ["ab"]).id);
    expect(k.id).toMatch(/^[\w-]{16}$/);
  });

  it("puts every key of a provider in one hash tag (one XREAD covers them on a cluster)", () => {
    const k = logKeys("my-nats", ["orders.*", "orders.1"]);
    for (const key of [k.log, k.lease, k.interest]) expect(key).toMatch(/^streamgate:buffer:\{my-nats\}:/);
    expect(new Set([k.log, k.lease, k.interest]).size).toBe(3);
  });
});

describe("positions", () => {
  it("round-trips a position through a stream id and an event position", () => {
    expect(positionOfId(streamId(1796293727534072))).toBe(1796293727534072);
    const p = eventPosition("abc", 42);
    expect(parseEventPosition(p)).toEqual({ key: "abc", offset: 42 });
  });

  it("refuses ids and positions this buffer did not write", () => {
    for (const id of ["5-1", "-1-0", "abc", "", "1-0-0", "99999999999999999-0", "9007199254740993-0"])
      expect([id, positionOfId(id)]).toEqual([id, undefined]);
    for (const p of [undefined, "", "@1", "x@", "x@-1", "x@1.5", "x@1e3", "x@abc", "x@99999999999999999"])
      expect([p, parseEventPosition(p)]).toEqual([p, undefined]);
    expect(parseEventPosition("a@b@7")).toEqual({ key: "a@b", offset: 7 });
  });

  it("reads the first part of any id, to move past entries that are not ours", () => {
    expect(idPrefix("12-7")).toBe(12);
    expect(idPrefix("12-0")).toBe(12);
    expect(idPrefix("12")).toBeUndefined();
    expect(idPrefix("99999999999999999-0")).toBeUndefined();
  });
});

describe("parseEntry", () => {
  it("reads an event with its topic, bytes, headers and position", () => {
    const data = Buffer.from([0, 255, 10, 13]);
    const e = parseEntry("log", [b("7-0"), [b("t"), b("orders.1"), b("d"), data, b("h"), b('{"k":"v"}')]]);
    expect(e.kind).toBe("event");
    if (e.kind !== "event") return;
    expect(e.position).toBe(7);
    expect(e.event.topic).toBe("orders.1");
    expect(Buffer.from(e.event.data)).toEqual(data);
    expect(e.event.headers).toEqual({ k: "v" });
    expect(parseEventPosition(e.event.position)).toEqual({ key: "log", offset: 7 });
  });

  it("reads a gap marker", () => {
    expect(parseEntry("log", ["8-0", ["g", "1"]])).toEqual({ kind: "gap", id: "8-0", position: 8 });
  });

  it("calls anything else invalid, never throws", () => {
    const cases: unknown[] = [
      null,
      "x",
      [],
      [b("1-0")],
      [b("1-0"), "not a list"],
      [b("1-0"), [b("t")]], // odd field list
      [b("1-3"), [b("t"), b("a"), b("d"), b("{}")]], // not our id
      [b("1-0"), [b("x"), b("y")]], // no topic, no data
      [b("1-0"), [b("t"), b("a")]], // no data
      [b("1-0"), [b("d"), b("{}")]], // no topic
      [b("1-0"), [b("t"), b(""), b("d"), b("{}")]], // empty topic
      [b("1-0"), [b("t"), b("a"), b("d"), b("{}"), b("h"), b("[1]")]], // headers not an object
      [b("1-0"), [b("t"), b("a"), b("d"), b("{}"), b("h"), b('{"k":1}')]], // header not a string
      [b("1-0"), [b("t"), b("a"), b("d"), b("{}"), b("h"), b("{nope")]], // headers not JSON
      [b("1-0"), [42, b("a")]], // field name not text
      [{}, [b("t"), b("a"), b("d"), b("{}")]],
    ];
    for (const c of cases) expect(parseEntry("log", c).kind).toBe("invalid");
    expect(parseEntries("log", "not a list")).toEqual([]);
  });
});

describe("parseReadReply", () => {
  const entries = [[b("1-0"), [b("g"), b("1")]]];

  it("reads RESP2's nested and RESP3's flattened replies alike", () => {
    const nested = parseReadReply([
      [b("k1"), entries],
      [b("k2"), entries],
    ]);
    const flat = parseReadReply([b("k1"), entries, b("k2"), entries]);
    expect([...nested.keys()]).toEqual(["k1", "k2"]);
    expect([...flat.keys()]).toEqual(["k1", "k2"]);
    expect(flat.get("k1")).toBe(entries);
    expect(parseReadReply([b("k1"), entries]).get("k1")).toBe(entries);
  });

  it("gives nothing for a timed-out block or garbage", () => {
    for (const raw of [null, undefined, 1, "x", [b("k1")], [b("k1"), "x"], [[b("k1"), "x"]], [{}, entries]])
      expect(parseReadReply(raw).size).toBe(0);
  });
});

describe("appendArgs", () => {
  it("passes topic, bytes and headers (or '') per event, without copying the bytes", () => {
    const data = new Uint8Array([1, 2, 3]);
    const args = appendArgs([
      { topic: "a", data },
      { topic: "b", data, headers: { x: "1" } },
      { topic: "c", data, headers: {} },
    ]);
    expect(args.map((a) => (Buffer.isBuffer(a) ? [...a] : a))).toEqual([
      "a",
      [1, 2, 3],
      "",
      "b",
      [1, 2, 3],
      '{"x":"1"}',
      "c",
      [1, 2, 3],
      "",
    ]);
    expect((args[1] as Buffer).buffer).toBe(data.buffer);
  });
});

describe("brokerSources (one log per broker subscription)", () => {
  it("keeps plain topics apart and overlapping patterns together", () => {
    expect(brokerSources(["a", "b"])).toEqual([["a"], ["b"]]);
    expect(brokerSources(["a.*", "a.1"])).toEqual([["a.*", "a.1"]]);
    expect(brokerSources(["a.*"])).toEqual([["a.*"]]);
  });
});

describe("DeliverySink and a gap the provider reports live", () => {
  it("says gap: true on the event that follows lost ones, once", () => {
    const got: string[] = [];
    const inner: OperationSink = { next: (j) => got.push(j), error: () => {}, complete: () => {} };
    const sink = new DeliverySink(inner, undefined);
    const meta = (offset: number, gap?: true): EventMeta => ({
      cursor: `c${offset}`,
      position: { key: "log", offset },
      ...(gap ? { gap } : {}),
    });
    sink.next('{"data":{},"extensions":{"cursor":"c1"}}', meta(1));
    sink.next('{"data":{},"extensions":{"cursor":"c5"}}', meta(5, true));
    sink.next('{"data":{},"extensions":{"cursor":"c6"}}', meta(6));
    expect(got.map((j) => JSON.parse(j).extensions)).toEqual([
      { cursor: "c1" },
      { cursor: "c5", gap: true },
      { cursor: "c6" },
    ]);
  });
});
