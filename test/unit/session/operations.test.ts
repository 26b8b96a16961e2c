/** The session's operation table: one operation in fields, a Map from the second on. */
import { describe, expect, it } from "vitest";
import { Operations } from "../../../src/session/operations.js";

describe("Operations", () => {
  it("holds one operation: has, get, size, ids, values, replace under the same id, delete", () => {
    const ops = new Operations<string>();
    expect([ops.size, ops.has("1"), ops.get("1"), ops.ids(), ops.values()]).toEqual([
      0,
      false,
      undefined,
      [],
      [],
    ]);
    ops.set("1", "a");
    expect([ops.size, ops.has("1"), ops.get("1"), ops.has("2"), ops.get("2")]).toEqual([
      1,
      true,
      "a",
      false,
      undefined,
    ]);
    ops.set("1", "b");
    expect([ops.size, ops.get("1"), ops.ids(), ops.values()]).toEqual([1, "b", ["1"], ["b"]]);
    expect(ops.delete("2")).toBe(false);
    expect(ops.delete("1")).toBe(true);
    expect(ops.delete("1")).toBe(false);
    expect([ops.size, ops.has("1"), ops.get("1"), ops.ids()]).toEqual([0, false, undefined, []]);
  });

  it("keeps many in the order they were added, through deletes and down to none and back", () => {
    const ops = new Operations<number>();
    ops.set("a", 1);
    ops.set("b", 2);
    ops.set("c", 3);
    expect([ops.size, ops.ids(), ops.values()]).toEqual([3, ["a", "b", "c"], [1, 2, 3]]);
    expect(ops.delete("a")).toBe(true);
    expect([ops.size, ops.has("a"), ops.get("b"), ops.ids()]).toEqual([2, false, 2, ["b", "c"]]);
    ops.delete("b");
    ops.delete("c");
    expect([ops.size, ops.ids()]).toEqual([0, []]);
    ops.set("d", 4);
    ops.set("e", 5);
    expect([ops.size, ops.ids(), ops.get("d"), ops.get("e")]).toEqual([2, ["d", "e"], 4, 5]);
  });

  it("hands out copies: deleting while going through ids or values misses none", () => {
    const ops = new Operations<string>();
    for (const id of ["1", "2", "3"]) ops.set(id, `op${id}`);
    const seen: string[] = [];
    for (const id of ops.ids()) {
      seen.push(id);
      ops.delete(id);
    }
    expect([seen, ops.size]).toEqual([["1", "2", "3"], 0]);
    ops.set("x", "only");
    const values = ops.values();
    ops.delete("x");
    expect(values).toEqual(["only"]);
  });

  it("clear forgets everything, one or many", () => {
    const one = new Operations<string>();
    one.set("1", "a");
    one.clear();
    const many = new Operations<string>();
    many.set("1", "a");
    many.set("2", "b");
    many.clear();
    for (const ops of [one, many])
      expect([ops.size, ops.has("1"), ops.get("2"), ops.ids()]).toEqual([0, false, undefined, []]);
  });
});
