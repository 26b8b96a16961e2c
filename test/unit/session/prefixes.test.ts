/** Shared frame prefixes: made once per short id, per call for long ids, in a bounded table. */
import { describe, expect, it } from "vitest";
import { nextFramePrefix } from "../../../src/protocol/graphql-transport-ws.js";
import { sharedPrefixes } from "../../../src/session/prefixes.js";

function counting() {
  const made: string[] = [];
  const prefix = sharedPrefixes((id) => {
    made.push(id);
    return nextFramePrefix(id);
  });
  return { made, prefix };
}

describe("sharedPrefixes", () => {
  it("makes a short id's prefix once and hands every caller the same text", () => {
    const { made, prefix } = counting();
    const first = prefix("1");
    expect(prefix("1")).toBe(first);
    expect(prefix("2")).toBe(nextFramePrefix("2"));
    expect(first).toBe('{"id":"1","type":"next","payload":');
    expect(made).toEqual(["1", "2"]);
  });

  it("makes a long id's prefix at every call (UUIDs are per operation anyway)", () => {
    const { made, prefix } = counting();
    const uuid = "6f1c2b8e-0a4d-4e7b-9c3f-2d5a8b1e7c90";
    expect(prefix(uuid)).toBe(nextFramePrefix(uuid));
    prefix(uuid);
    expect(made).toEqual([uuid, uuid]);
  });

  it("stops adding ids once the table is full, and still answers correctly past it", () => {
    const { made, prefix } = counting();
    for (let i = 0; i < 1024; i++) prefix(`h${i}`);
    expect(made).toHaveLength(1024);
    prefix("h0");
    expect(made).toHaveLength(1024); // still shared
    expect(prefix("late")).toBe(nextFramePrefix("late"));
    prefix("late");
    expect(made.slice(1024)).toEqual(["late", "late"]); // not kept: made each time
  });

  it("escapes ids as JSON whether shared or not", () => {
    const { prefix } = counting();
    expect(JSON.parse(`${prefix('a"b')}null}`)).toEqual({ id: 'a"b', type: "next", payload: null });
  });
});
