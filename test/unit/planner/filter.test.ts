import { buildSchema } from "graphql";
import { describe, expect, it, vi } from "vitest";
import { ErrorCode, StreamgateError } from "../../../src/errors.js";
import {
  compileFilter,
  type FilterContext,
  type FilterTypeOf,
  fieldTypeResolver,
} from "../../../src/planner/filter.js";
import type { FilterCondition } from "../../../src/schema/model.js";

const schema = buildSchema(`
  scalar JSON
  enum Color { RED BLUE }
  type Details { level: Int score: Float active: Boolean color: Color meta: JSON }
  type Member { id: ID! age: Int }
  type Employee { id: ID! num: Int! name: String! details: Details team: [Member!] flags: [Int!] }
  interface Change { id: Int! tag: String! }
  type Changed implements Change { id: Int! tag: String! extra: String }
  type Removed implements Change { id: Int! tag: String! }
  type Updated { id: Int! code: ID! }
  type Deleted { id: Int! code: Int! }
  union Event = Updated | Deleted
  type Query { x: Int }
`);

const IN = (fieldPath: string, ...values: unknown[]): FilterCondition => ({ IN: { fieldPath, values } });
const NOT = (c: FilterCondition): FilterCondition => ({ NOT: c });
const AND = (...c: FilterCondition[]): FilterCondition => ({ AND: c });
const OR = (...c: FilterCondition[]): FilterCondition => ({ OR: c });

const ARGS = {
  id: "7",
  ids: ["1", "2"],
  nums: [2],
  input: { ids: [4, 5] },
  tag: "a",
  nested: [["1"], ["2", "3"]],
  filters: [{ id: "4" }, {}, { id: "6" }],
};
const CLAIMS = { sub: "u1", groups: ["g1", "g2"] };

type Row = [string, FilterCondition, Record<string, unknown>, boolean];

const run = (cond: FilterCondition, event: Record<string, unknown>, returnType = "Employee"): boolean =>
  compileFilter(cond, { args: ARGS, claims: CLAIMS }, fieldTypeResolver(schema, returnType))(event);

describe("compileFilter: operators, paths and typed comparison (Employee)", () => {
  const rows: Row[] = [
    ["IN matches", IN("name", "x", "y"), { name: "y" }, true],
    ["IN misses", IN("name", "x", "y"), { name: "z" }, false],
    ["NOT negates a match", NOT(IN("name", "x")), { name: "x" }, false],
    ["NOT negates a miss", NOT(IN("name", "x")), { name: "z" }, true],
    ["AND: all match", AND(IN("name", "x"), IN("num", 1)), { name: "x", num: 1 }, true],
    ["AND: one misses", AND(IN("name", "x"), IN("num", 1)), { name: "x", num: 2 }, false],
    ["OR: one matches", OR(IN("name", "x"), IN("num", 1)), { name: "z", num: 1 }, true],
    ["OR: none match", OR(IN("name", "x"), IN("num", 1)), { name: "z", num: 2 }, false],
    ["AND of one", AND(IN("num", 1)), { num: 1 }, true],
    // NOT inside OR inside AND
    ["nested: pass", AND(OR(NOT(IN("id", 1)), IN("name", "x")), IN("num", 5)), { id: 2, num: 5 }, true],
    [
      "nested: OR rescued",
      AND(OR(NOT(IN("id", 1)), IN("name", "x")), IN("num", 5)),
      { id: 1, name: "x", num: 5 },
      true,
    ],
    [
      "nested: OR fails",
      AND(OR(NOT(IN("id", 1)), IN("name", "x")), IN("num", 5)),
      { id: 1, name: "y", num: 5 },
      false,
    ],
    ["nested: AND fails", AND(OR(NOT(IN("id", 1)), IN("name", "x")), IN("num", 5)), { id: 2, num: 6 }, false],
    // ID: canonical string form, whichever side is a number
    ['ID: event 7, value "7"', IN("id", "7"), { id: 7 }, true],
    ["ID: event 7, value 7", IN("id", 7), { id: 7 }, true],
    ['ID: event "7", value 7', IN("id", 7), { id: "7" }, true],
    ['ID: event "07" is not 7', IN("id", 7), { id: "07" }, false],
    ["ID: event 7.5 is no ID", IN("id", 7.5, "7.5"), { id: 7.5 }, false],
    ["ID: boolean event", IN("id", "true"), { id: true }, false],
    // Int / Float: numbers; the event must carry a number
    ['Int: event "7" vs 7', IN("num", 7), { num: "7" }, false],
    ["Int: event 7 vs 7", IN("num", 7), { num: 7 }, true],
    ['Int: author\'s literal "7" is read as Int', IN("num", "7"), { num: 7 }, true],
    ["Int: non-numeric literal never matches", IN("num", "abc", "7x"), { num: 7 }, false],
    ['Float: 1.5 vs "1.5"', IN("details.score", "1.5"), { details: { score: 1.5 } }, true],
    ["Float: 2 vs 2.0", IN("details.score", 2.0), { details: { score: 2 } }, true],
    // String: strings only
    ['String: event "7" vs 7', IN("name", 7), { name: "7" }, false],
    ['String: event 7 vs "7"', IN("name", "7"), { name: 7 }, false],
    ["String: equal", IN("name", "7"), { name: "7" }, true],
    ["Boolean: true", IN("details.active", true), { details: { active: true } }, true],
    ['Boolean: "true" event', IN("details.active", true), { details: { active: "true" } }, false],
    ["Boolean: false vs [true]", IN("details.active", true), { details: { active: false } }, false],
    ["enum compares as string", IN("details.color", "RED"), { details: { color: "RED" } }, true],
    ["custom scalar: strict JSON, 7 = 7", IN("details.meta", 7), { details: { meta: 7 } }, true],
    ['custom scalar: "7" ≠ 7', IN("details.meta", 7), { details: { meta: "7" } }, false],
    ["custom scalar: objects by JSON", IN("details.meta", { a: 1 }), { details: { meta: { a: 1 } } }, true],
    // missing paths and nulls
    ["missing field", IN("name", "x"), {}, false],
    ["NOT of missing field", NOT(IN("name", "x")), {}, true],
    ["missing parent", IN("details.level", 1), { name: "x" }, false],
    ["parent is a scalar", IN("details.level", 1), { details: 5 }, false],
    ["null value", IN("name", "x"), { name: null }, false],
    ["null parent", IN("details.level", 1), { details: null }, false],
    ["null never matches a null value", IN("name", null), { name: null }, false],
    ["NOT of null", NOT(IN("name", "x")), { name: null }, true],
    ["inherited property is missing", IN("name", "x"), Object.create({ name: "x" }), false],
    // dot paths and list-valued fields
    ["dot path", IN("details.level", 3), { details: { level: 3 } }, true],
    ["list field: any element", IN("flags", 2), { flags: [1, 2, 3] }, true],
    ["list field: no element", IN("flags", 5), { flags: [1, 2, 3] }, false],
    ["list field: empty", IN("flags", 5), { flags: [] }, false],
    ["list field: nested lists", IN("flags", 3), { flags: [[1], [2, [3]]] }, true],
    ["list field: nulls skipped", IN("flags", 1), { flags: [null, 1] }, true],
    ["list along the path", IN("team.id", "2"), { team: [{ id: 1 }, { id: 2 }] }, true],
    ["list along the path: none", IN("team.id", "3"), { team: [{ id: 1 }, { age: 3 }] }, false],
    ["NOT over a list", NOT(IN("flags", 2)), { flags: [1, 2] }, false],
    // literals
    ["nested literal lists flatten", IN("num", [1, [2]], 3), { num: 2 }, true],
    ["empty values", IN("num"), { num: 1 }, false],
    // templates
    ["scalar template (ID arg)", IN("id", "{{ args.id }}"), { id: 7 }, true],
    ["scalar template on Int field", IN("num", "{{ args.id }}"), { num: 7 }, true],
    ["list template", IN("id", "{{ args.ids }}"), { id: "2" }, true],
    ["list template: miss", IN("id", "{{ args.ids }}"), { id: 3 }, false],
    ["nested list template args.input.ids", IN("num", "{{ args.input.ids }}"), { num: 5 }, true],
    ["nested list template: miss", IN("num", "{{ args.input.ids }}"), { num: 3 }, false],
    ["two list templates: first", IN("id", "{{ args.ids }}", "{{ args.nums }}"), { id: "1" }, true],
    ["two list templates: second", IN("id", "{{ args.ids }}", "{{ args.nums }}"), { id: 2 }, true],
    ["two list templates: miss", IN("id", "{{ args.ids }}", "{{ args.nums }}"), { id: 3 }, false],
    ["template mixed with literals", IN("id", 9, "{{ args.ids }}"), { id: 9 }, true],
    ["list of lists argument", IN("id", "{{ args.nested }}"), { id: 3 }, true],
    ["path through a list argument", IN("id", "{{ args.filters.id }}"), { id: 6 }, true],
    ["path through a list argument: miss", IN("id", "{{ args.filters.id }}"), { id: 5 }, false],
    ["text around a template", IN("name", "emp-{{ args.tag }}"), { name: "emp-a" }, true],
    ["text around a list template", IN("name", "e{{ args.ids }}"), { name: "e2" }, true],
    ["omitted argument: no values", IN("name", "{{ args.absent }}"), { name: "x" }, false],
    ["omitted argument in text", IN("name", "x{{ args.absent }}", "y"), { name: "y" }, true],
    ["NOT over omitted argument", NOT(IN("name", "{{ args.absent }}")), { name: "x" }, true],
    ["claims template", IN("name", "{{ request.auth.claims.sub }}"), { name: "u1" }, true],
    ["list claim", IN("name", "{{ request.auth.claims.groups }}"), { name: "g2" }, true],
  ];
  it.each(rows)("%s", (_name, cond, event, expected) => {
    expect(run(cond, event)).toBe(expected);
  });
});

describe("compileFilter: abstract return types use __typename", () => {
  const rows: [string, string, FilterCondition, Record<string, unknown>, boolean][] = [
    ["union member with ID code", "Event", IN("code", "7"), { __typename: "Updated", code: 7 }, true],
    [
      "union member with Int code: number",
      "Event",
      IN("code", "7"),
      { __typename: "Deleted", code: 7 },
      true,
    ],
    [
      "union member with Int code: string",
      "Event",
      IN("code", "7"),
      { __typename: "Deleted", code: "7" },
      false,
    ],
    ["union, no __typename: first member", "Event", IN("code", 7), { code: "7" }, true],
    ["union, unknown __typename: fallback", "Event", IN("code", 7), { __typename: "Bogus", code: "7" }, true],
    ["interface field", "Change", IN("tag", "a"), { __typename: "Removed", tag: "a" }, true],
    ["interface field: miss", "Change", IN("tag", "a"), { __typename: "Removed", tag: "b" }, false],
    ["field of one implementation", "Change", IN("extra", "e"), { __typename: "Changed", extra: "e" }, true],
  ];
  it.each(rows)("%s", (_name, returnType, cond, event, expected) => {
    expect(run(cond, event, returnType)).toBe(expected);
  });
});

describe("compileFilter: compile-time work and errors", () => {
  it("asks for the field type once per __typename and kind, not per event", () => {
    const typeOf = vi.fn<FilterTypeOf>(fieldTypeResolver(schema, "Event"));
    const pred = compileFilter(IN("code", "7"), { args: {} }, typeOf);
    for (let i = 0; i < 100; i++) {
      expect(pred({ __typename: i % 2 ? "Updated" : "Deleted", code: 7 })).toBe(true);
    }
    expect(typeOf).toHaveBeenCalledTimes(2);
    expect(typeOf.mock.calls).toEqual([
      ["code", "Deleted"],
      ["code", "Updated"],
    ]);
  });

  it("renders templates at compile time: later changes to args do not matter", () => {
    const args = { ids: ["1"] };
    const pred = compileFilter(IN("id", "{{ args.ids }}"), { args }, () => "id");
    args.ids = ["2"];
    expect(pred({ id: 1 })).toBe(true);
    expect(pred({ id: 2 })).toBe(false);
  });

  it("short-circuits AND and OR in order", () => {
    let reads = 0;
    const event = {
      a: 1,
      get b() {
        reads++;
        return 1;
      },
    };
    const typeOf = (): "number" => "number";
    expect(compileFilter(AND(IN("a", 2), IN("b", 1)), { args: {} }, typeOf)(event)).toBe(false);
    expect(compileFilter(OR(IN("a", 1), IN("b", 1)), { args: {} }, typeOf)(event)).toBe(true);
    expect(reads).toBe(0);
    expect(compileFilter(AND(IN("a", 1), IN("b", 1)), { args: {} }, typeOf)(event)).toBe(true);
    expect(reads).toBe(1);
  });

  it.each([
    ["no claims at all", { args: {} }, "{{ request.auth.claims.sub }} needs an authenticated request"],
    ["claim missing", { args: {}, claims: {} }, "{{ request.auth.claims.sub }} has no value"],
  ])("a claims template fails the subscribe: %s", (_name, ctx: FilterContext, message) => {
    const compile = () =>
      compileFilter(NOT(IN("name", "{{ request.auth.claims.sub }}")), ctx, () => "string");
    expect(compile).toThrow(StreamgateError);
    expect(compile).toThrow(message);
    try {
      compile();
    } catch (err) {
      expect((err as StreamgateError).code).toBe(ErrorCode.TEMPLATE_INVALID);
    }
  });

  it("rejects a condition without an operator", () => {
    expect(() => compileFilter({} as FilterCondition, { args: {} }, () => "string")).toThrow(StreamgateError);
    expect(() => compileFilter({ OR: [] }, { args: {} }, () => "string")).toThrow(StreamgateError);
  });
});

describe("fieldTypeResolver", () => {
  it.each([
    ["Employee", "id", undefined, "id"],
    ["Employee", "num", undefined, "number"],
    ["Employee", "name", undefined, "string"],
    ["Employee", "flags", undefined, "number"],
    ["Employee", "team.id", undefined, "id"],
    ["Employee", "details.level", undefined, "number"],
    ["Employee", "details.score", undefined, "number"],
    ["Employee", "details.active", undefined, "boolean"],
    ["Employee", "details.color", undefined, "string"],
    ["Employee", "details.meta", undefined, "unknown"],
    ["Employee", "details", undefined, "unknown"],
    ["Employee", "nope", undefined, "unknown"],
    ["Event", "code", "Updated", "id"],
    ["Event", "code", "Deleted", "number"],
    ["Event", "code", undefined, "id"],
    ["Event", "code", "Bogus", "id"],
    ["Change", "tag", undefined, "string"],
    ["Change", "extra", "Removed", "string"],
    ["Missing", "id", undefined, "unknown"],
  ] as const)("%s %s (%s) → %s", (ret, path, typeName, kind) => {
    expect(fieldTypeResolver(schema, ret)(path, typeName)).toBe(kind);
  });
});
