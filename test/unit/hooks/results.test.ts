/**
 * What a hook returns is input (src/hooks/results.ts): every accepted shape and the refused ones.
 * The property over anything a hook could return is a fuzz target (test/fuzz/hook-targets.ts).
 */
import { describe, expect, it } from "vitest";
import {
  createResult,
  deliverResult,
  headerRecord,
  jsonObject,
  MAX_RECEIVED_EVENTS,
  ORIGIN,
  publishResult,
  receiveResult,
} from "../../../src/hooks/results.js";

const inputs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ data: { i }, headers: {}, [ORIGIN]: i }));
const reason = (r: { ok: boolean; reason?: string }): string | undefined => (r.ok ? undefined : r.reason);

describe("jsonObject", () => {
  it("takes a plain object as a fresh JSON copy", () => {
    const data = { a: 1, nested: { b: [1, "x", null] } };
    const r = jsonObject(data, "data", 1000);
    expect(r).toEqual({ ok: true, value: data });
    expect(r.ok && r.value).not.toBe(data);
    expect(r.ok && r.value.nested).not.toBe(data.nested);
  });

  it("refuses what JSON cannot carry, and what is not an object", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(reason(jsonObject({ n: 1n }, "data", 1000))).toMatch(/not JSON-serializable \(TypeError\)/);
    expect(reason(jsonObject(cycle, "data", 1000))).toMatch(/not JSON-serializable/);
    expect(reason(jsonObject({ toJSON: () => [1] }, "data", 1000))).toMatch(
      /must be a JSON object, not an array/,
    );
    expect(reason(jsonObject([], "data", 1000))).toMatch(/not an array/);
    expect(reason(jsonObject(null, "data", 1000))).toMatch(/not null/);
    expect(reason(jsonObject("s", "data", 1000))).toMatch(/not a string/);
    expect(reason(jsonObject(new Map(), "data", 1000))).toMatch(/must be a JSON object/);
    expect(reason(jsonObject({ big: "x".repeat(100) }, "data", 50))).toMatch(/larger than 50 bytes/);
  });

  it("drops what JSON drops (undefined, functions) and keeps the rest", () => {
    expect(jsonObject({ a: undefined, f: () => 1, n: Number.NaN, d: new Date(0) }, "data", 1000)).toEqual({
      ok: true,
      value: { n: null, d: "1970-01-01T00:00:00.000Z" },
    });
  });
});

describe("headerRecord", () => {
  it("accepts string headers with token names; undefined is none", () => {
    expect(headerRecord(undefined, "h")).toEqual({ ok: true, value: {} });
    expect(headerRecord({ "x-a": "1", Trace_Id: "v" }, "h")).toEqual({
      ok: true,
      value: { "x-a": "1", Trace_Id: "v" },
    });
  });
  it("refuses names or values that would break a header block, and too many", () => {
    expect(reason(headerRecord({ "a b": "1" }, "h"))).toMatch(/not a valid header name/);
    expect(reason(headerRecord({ "a:b": "1" }, "h"))).toMatch(/not a valid header name/);
    expect(reason(headerRecord({ a: "1\r\nX: 2" }, "h"))).toMatch(/CR, LF or NUL/);
    expect(reason(headerRecord({ a: 1 }, "h"))).toMatch(/must be a string/);
    expect(
      reason(headerRecord(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}`, ""])), "h")),
    ).toMatch(/more than 64/);
  });
});

describe("createResult", () => {
  it("takes { topics } or nothing", () => {
    expect(createResult(undefined)).toEqual({ ok: true, value: undefined });
    expect(createResult({ topics: ["a", "b"] })).toEqual({ ok: true, value: ["a", "b"] });
  });
  it("refuses other shapes, empty lists, non-strings and typos", () => {
    expect(reason(createResult(["a"]))).toMatch(/must be \{ topics \}/);
    expect(reason(createResult({ topics: "a" }))).toMatch(/array of strings/);
    expect(reason(createResult({ topics: [] }))).toMatch(/empty/);
    expect(reason(createResult({ topics: ["a", 1] }))).toMatch(/non-empty string/);
    expect(reason(createResult({ topics: ["a"], topic: "b" }))).toMatch(/unknown key "topic"/);
  });
});

describe("deliverResult", () => {
  it("keep, drop or map", () => {
    expect(deliverResult(undefined, 100)).toEqual({ ok: true, value: { kind: "keep" } });
    expect(deliverResult(null, 100)).toEqual({ ok: true, value: { kind: "drop" } });
    expect(deliverResult(false, 100)).toEqual({ ok: true, value: { kind: "drop" } });
    expect(deliverResult({ data: { id: "1" } }, 100)).toEqual({
      ok: true,
      value: { kind: "map", data: { id: "1" } },
    });
  });
  it("refuses anything else", () => {
    for (const v of [true, 0, "x", [], { data: [] }, { data: { id: 1n } }, { id: "1" }])
      expect(deliverResult(v, 100).ok).toBe(false);
  });
});

describe("publishResult", () => {
  it("data, headers and key, each optional", () => {
    expect(publishResult(undefined, 100)).toEqual({
      ok: true,
      value: { data: undefined, headers: undefined, key: undefined },
    });
    expect(publishResult({ data: { a: 1 }, headers: { "x-t": "1" }, key: "k" }, 100)).toEqual({
      ok: true,
      value: { data: { a: 1 }, headers: { "x-t": "1" }, key: "k" },
    });
  });
  it("refuses a typo, a non-string key, bad headers", () => {
    expect(reason(publishResult({ header: {} }, 100))).toMatch(/unknown key "header"/);
    expect(reason(publishResult({ key: 7 }, 100))).toMatch(/key must be a string/);
    expect(reason(publishResult({ headers: { "": "x" } }, 100))).toMatch(/not a valid header name/);
  });
});

describe("receiveResult", () => {
  it("nothing is unchanged; returned events keep their origin by tag, else by index when as many", () => {
    const ins = inputs(3);
    expect(receiveResult(undefined, ins, 1000)).toEqual({ ok: true, value: undefined });
    // A filter keeps the tagged objects themselves.
    const kept = receiveResult([ins[2], ins[0]], ins, 1000);
    expect(kept.ok && kept.value?.map((e) => e.origin)).toEqual([2, 0]);
    // A spread copy keeps the tag.
    const mapped = receiveResult([{ ...ins[1]!, data: { m: 1 } }], ins, 1000);
    expect(mapped.ok && mapped.value).toEqual([{ data: { m: 1 }, headers: {}, origin: 1 }]);
    // Fresh objects: by index when the count matches, otherwise new events.
    const fresh = receiveResult([{ data: {} }, { data: {} }, { data: {} }], ins, 1000);
    expect(fresh.ok && fresh.value?.map((e) => e.origin)).toEqual([0, 1, 2]);
    // Kept events plus one added, as many as came in: the added one is new, not the third input.
    const mixed = receiveResult([ins[0], ins[1], { data: { added: 1 } }], ins, 1000);
    expect(mixed.ok && mixed.value?.map((e) => e.origin)).toEqual([0, 1, undefined]);
    const added = receiveResult([{ data: {} }], ins, 1000);
    expect(added.ok && added.value?.map((e) => e.origin)).toEqual([undefined]);
  });
  it("refuses a non-array, a bad event, too many events", () => {
    expect(reason(receiveResult({}, inputs(1), 100))).toMatch(/must be an array/);
    expect(reason(receiveResult([{ data: null }], inputs(1), 100))).toMatch(
      /event 0: data must be a JSON object/,
    );
    expect(reason(receiveResult([1], inputs(1), 100))).toMatch(/event 0 must be an object/);
    expect(
      reason(receiveResult(new Array(MAX_RECEIVED_EVENTS + 1).fill({ data: {} }), inputs(1), 100)),
    ).toMatch(/more than 10000 events/);
  });
});
