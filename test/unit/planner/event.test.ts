import { describe, expect, it } from "vitest";
import { checkEvent, decodeEvent } from "../../../src/planner/event.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("decodeEvent", () => {
  it.each([
    ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), "event is not valid UTF-8 JSON"],
    ["truncated UTF-8 sequence", new Uint8Array([0x22, 0xc3, 0x22]), "event is not valid UTF-8 JSON"],
    ["invalid JSON", enc('{"id": 1'), "event is not valid UTF-8 JSON"],
    ["empty bytes", new Uint8Array(0), "event is not valid UTF-8 JSON"],
    ["trailing garbage", enc('{"id":1} x'), "event is not valid UTF-8 JSON"],
    ["array", enc('[{"id":1}]'), "event is not a JSON object"],
    ["string", enc('"hello"'), "event is not a JSON object"],
    ["number", enc("42"), "event is not a JSON object"],
    ["boolean", enc("true"), "event is not a JSON object"],
    ["null", enc("null"), "event is not a JSON object"],
  ])("%s → not ok", (_name, bytes, reason) => {
    const skip = reason.includes("UTF-8") ? "undecodable" : "not_object";
    expect(decodeEvent(bytes)).toEqual({ ok: false, reason, skip });
  });

  it.each([
    ['{"__typename":"Employee","id":"7"}', { __typename: "Employee", id: "7" }],
    ['  {"id": 1, "nested": {"a": [1, 2]}}\n', { id: 1, nested: { a: [1, 2] } }],
    ["{}", {}],
    ['{"name":"Zoë ✓"}', { name: "Zoë ✓" }],
  ])("decodes %j", (text, value) => {
    expect(decodeEvent(enc(text))).toEqual({ ok: true, value });
  });
});

const KEYS: Record<string, readonly (readonly string[])[]> = {
  Employee: [["id"]],
  Product: [["id"], ["sku", "region"]],
  Keyless: [],
};
const keysOf = (t: string) => KEYS[t];

describe("checkEvent", () => {
  it("fills __typename for a single-type field on a copy, leaving the input alone", () => {
    const value = { id: 7, name: "x" };
    const result = checkEvent(value, "Employee", keysOf);
    expect(result).toEqual({ ok: true, root: { __typename: "Employee", id: 7, name: "x" } });
    expect(result.ok && result.root).not.toBe(value);
    expect(value).toEqual({ id: 7, name: "x" });
    expect("__typename" in value).toBe(false);
  });

  it("returns the decoded object itself when it already carries __typename", () => {
    const value = { __typename: "Employee", id: 7 };
    const result = checkEvent(value, "Employee", keysOf);
    expect(result).toEqual({ ok: true, root: value });
    expect(result.ok && result.root).toBe(value);
  });

  it("keeps the event's own __typename over the field's type", () => {
    const value = { __typename: "Product", id: 1 };
    expect(checkEvent(value, "Employee", keysOf)).toEqual({ ok: true, root: value });
  });

  it.each([
    ["no singleTypeName", { id: 1 }, undefined],
    ["__typename null", { __typename: null, id: 1 }, undefined],
    ["__typename number", { __typename: 5, id: 1 }, undefined],
  ])("without a string __typename (%s) → not ok", (_name, value, single) => {
    expect(checkEvent(value, single, keysOf)).toEqual({
      ok: false,
      reason: "event has no __typename",
      skip: "no_typename",
    });
  });

  it.each([
    [
      "missing key field",
      { __typename: "Employee", name: "x" },
      'event of type Employee lacks its key fields ("id")',
    ],
    [
      "null key value",
      { __typename: "Employee", id: null },
      'event of type Employee lacks its key fields ("id")',
    ],
    [
      "neither key set complete",
      { __typename: "Product", sku: "s1" },
      'event of type Product lacks its key fields ("id" or "sku region")',
    ],
    [
      "null in a compound key",
      { __typename: "Product", sku: "s1", region: null },
      'event of type Product lacks its key fields ("id" or "sku region")',
    ],
  ])("%s → not ok naming the key", (_name, value, reason) => {
    expect(checkEvent(value, undefined, keysOf)).toEqual({ ok: false, reason, skip: "missing_key" });
  });

  it("names the filled-in type when the key is missing", () => {
    expect(checkEvent({ name: "x" }, "Employee", keysOf)).toEqual({
      ok: false,
      reason: 'event of type Employee lacks its key fields ("id")',
      skip: "missing_key",
    });
  });

  describe("with the field's possible types", () => {
    const employee = new Set(["Employee"]);
    const either = new Set(["Employee", "Product"]);
    it.each([
      ["a type the schema lacks", { __typename: "NoSuchType", id: 1 }, employee],
      ["the Query root type", { __typename: "Query", id: 1 }, employee],
      ["another entity type", { __typename: "Product", id: 1 }, employee],
      ["an inherited property name", { __typename: "__proto__", id: 1 }, either],
      ["a member of no union", { __typename: "Keyless" }, either],
    ])("refuses %s as unknown_typename", (_name, value, possible) => {
      const r = checkEvent(value, "Employee", keysOf, possible);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.skip).toBe("unknown_typename");
      expect(!r.ok && r.reason).toContain(JSON.stringify(value.__typename));
    });

    it("accepts each possible type, filling in the single type", () => {
      expect(checkEvent({ id: 1 }, "Employee", keysOf, employee)).toEqual({
        ok: true,
        root: { __typename: "Employee", id: 1 },
      });
      const product = { __typename: "Product", id: "p" };
      expect(checkEvent(product, undefined, keysOf, either)).toEqual({ ok: true, root: product });
    });

    it("clips a huge __typename in the reason", () => {
      const r = checkEvent({ __typename: "x".repeat(10_000) }, undefined, keysOf, either);
      expect(!r.ok && r.reason.length).toBeLessThan(200);
    });
  });

  it.each([
    ["first key set", { __typename: "Product", id: "p1" }],
    ["second key set", { __typename: "Product", sku: "s1", region: "eu" }],
    ["both key sets", { __typename: "Product", id: "p1", sku: "s1", region: "eu" }],
    ["falsy key values count", { __typename: "Product", sku: "", region: 0 }],
    ["false is a value", { __typename: "Employee", id: false }],
  ])("one complete key set suffices: %s", (_name, value) => {
    expect(checkEvent(value, undefined, keysOf)).toEqual({ ok: true, root: value });
  });

  it.each([
    ["type without keys", { __typename: "Keyless" }],
    ["type unknown to keysOf", { __typename: "Other" }],
  ])("no key check for a %s", (_name, value) => {
    expect(checkEvent(value, undefined, keysOf)).toEqual({ ok: true, root: value });
  });

  it("asks keysOf about the effective type name only", () => {
    const asked: string[] = [];
    checkEvent({ id: 1 }, "Employee", (t) => {
      asked.push(t);
      return KEYS[t];
    });
    checkEvent({ __typename: "Product", id: 1 }, "Employee", (t) => {
      asked.push(t);
      return KEYS[t];
    });
    expect(asked).toEqual(["Employee", "Product"]);
  });
});
