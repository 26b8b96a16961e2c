/** stableJson: the text group keys are made of (same variables in any key order → same group). */
import { describe, expect, it } from "vitest";
import { stableJson } from "../../../src/engine/variables.js";

describe("stableJson", () => {
  it("sorts object keys at every depth, so key order never splits a group", () => {
    const a = { b: 1, a: { d: [1, { z: true, y: null }], c: "x" } };
    const b = { a: { c: "x", d: [1, { y: null, z: true }] }, b: 1 };
    expect(stableJson(a)).toBe('{"a":{"c":"x","d":[1,{"y":null,"z":true}]},"b":1}');
    expect(stableJson(b)).toBe(stableJson(a));
  });

  it("is JSON: parses back to the same value, escapes keys and strings", () => {
    const v = { 'q"uote': "line\nbreak", ü: ["\u0000", -0.5, 1e21], empty: {}, none: [] };
    expect(JSON.parse(stableJson(v))).toEqual(v);
    expect(stableJson({ empty: {}, none: [] })).toBe('{"empty":{},"none":[]}');
  });

  it("leaves out undefined properties and writes undefined list elements as null, like JSON.stringify", () => {
    expect(stableJson({ a: undefined, b: 2 })).toBe('{"b":2}');
    expect(stableJson({ a: undefined })).toBe("{}");
    expect(stableJson([undefined, 1])).toBe("[null,1]");
    expect(stableJson([undefined, 1])).toBe(JSON.stringify([undefined, 1]));
  });

  it("writes scalars and null as JSON does", () => {
    for (const v of [null, 0, 1.5, "s", true, false]) expect(stableJson(v)).toBe(JSON.stringify(v));
    expect(stableJson(undefined)).toBe("null");
  });
});
