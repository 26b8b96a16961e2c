import { buildSchema, type GraphQLField, getNamedType } from "graphql";
import { describe, expect, it } from "vitest";
import { validateFilter } from "../../../src/schema/filter-validate.js";

const schema = buildSchema(`
  scalar JSON
  type Details { level: Int meta: JSON }
  type Member { id: ID! }
  type Employee { id: ID! name: String! details: Details team: [Member!] flags: [Int!] }
  interface Change { id: Int! tag: String! }
  type Changed implements Change { id: Int! tag: String! extra: String }
  type Removed implements Change { id: Int! tag: String! }
  type Updated { id: Int! }
  type Deleted { id: Int! why: String }
  union Event = Updated | Deleted
  input In { ids: [Int!]! sub: Sub }
  input Sub { name: String }
  input F { id: ID! }
  type Subscription {
    emp(id: ID!, ids: [ID!], input: In, lists: [[ID!]!], filters: [F!]): Employee!
    change(tag: String!): Change!
    event(tag: String!): Event!
  }
  type Query { x: Int }
`);

const fieldOf = (name: string): GraphQLField<unknown, unknown> =>
  schema.getSubscriptionType()!.getFields()[name]!;
const check = (condition: unknown, name = "emp"): string[] => {
  const field = fieldOf(name);
  return validateFilter(condition, field, getNamedType(field.type), schema);
};

const IN = (fieldPath: unknown, ...values: unknown[]) => ({ IN: { fieldPath, values } });
const ok = IN("id", 1);
const nest = (depth: number): unknown => (depth === 1 ? ok : { NOT: nest(depth - 1) });

describe("validateFilter: accepted conditions", () => {
  it.each([
    ["IN", ok, "emp"],
    ["every operator nested", { AND: [{ OR: [{ NOT: ok }, IN("name", "x")] }, ok] }, "emp"],
    ["AND of 1", { AND: [ok] }, "emp"],
    ["OR of 5", { OR: [ok, ok, ok, ok, ok] }, "emp"],
    ["depth 5", nest(5), "emp"],
    ["depth 5 through AND/OR", { AND: [{ OR: [{ AND: [{ NOT: ok }] }] }] }, "emp"],
    ["dot path", IN("details.level", 1), "emp"],
    ["custom scalar leaf", IN("details.meta", { a: 1 }), "emp"],
    ["path through a list", IN("team.id", "1"), "emp"],
    ["list leaf", IN("flags", 1), "emp"],
    ["empty values", IN("id"), "emp"],
    ["null and nested literal values", IN("id", null, [1, [2]]), "emp"],
    ["scalar template", IN("id", "{{ args.id }}"), "emp"],
    ["list template", IN("id", "{{ args.ids }}"), "emp"],
    ["nested list template", IN("id", "{{ args.input.ids }}"), "emp"],
    ["two list templates", IN("id", "{{ args.ids }}", "{{ args.input.ids }}"), "emp"],
    ["list of lists argument", IN("id", "{{ args.lists }}"), "emp"],
    ["path through a list argument", IN("id", "{{ args.filters.id }}"), "emp"],
    ["deeper input field", IN("name", "n-{{ args.input.sub.name }}"), "emp"],
    ["claims template", IN("name", "{{ request.auth.claims.sub }}"), "emp"],
    ["interface field", IN("tag", "{{ args.tag }}"), "change"],
    ["field of one implementation", IN("extra", "x"), "change"],
    ["union field of every member", IN("id", 1), "event"],
    ["union field of one member", IN("why", "x"), "event"],
  ])("%s", (_name, condition, field) => {
    expect(check(condition, field)).toEqual([]);
  });
});

describe("validateFilter: problems", () => {
  const six = [ok, ok, ok, ok, ok, ok];
  it.each([
    ["not an object", "x", ["filter: a condition must be an object with one of AND, OR, NOT, IN"]],
    ["null", null, ["filter: a condition must be an object with one of AND, OR, NOT, IN"]],
    ["a list", [ok], ["filter: a condition must be an object with one of AND, OR, NOT, IN"]],
    ["no operator", {}, ["filter: a condition needs exactly one of AND, OR, NOT, IN (found none)"]],
    [
      "two operators",
      { AND: [ok], NOT: ok },
      ["filter: a condition needs exactly one of AND, OR, NOT, IN (found AND, NOT)"],
    ],
    [
      "unknown operator",
      { XOR: [ok] },
      [
        'filter: unknown operator "XOR"',
        "filter: a condition needs exactly one of AND, OR, NOT, IN (found none)",
      ],
    ],
    ["AND of 0", { AND: [] }, ["filter: AND has 0 conditions (1-5 allowed)"]],
    ["OR of 6", { OR: six }, ["filter: OR has 6 conditions (1-5 allowed)"]],
    ["nested OR of 6", { AND: [ok, { OR: six }] }, ["filter: AND[1].OR has 6 conditions (1-5 allowed)"]],
    ["AND not a list", { AND: ok }, ["filter: AND must be a list of conditions"]],
    ["NOT given a list", { NOT: [ok] }, ["filter: NOT takes one condition, not a list"]],
    ["depth 6", nest(6), ["filter: NOT.NOT.NOT.NOT.NOT: nesting depth exceeds 5"]],
    [
      "depth 6 through AND/OR",
      { AND: [{ OR: [{ AND: [{ NOT: { NOT: ok } }] }] }] },
      ["filter: AND[0].OR[0].AND[0].NOT.NOT: nesting depth exceeds 5"],
    ],
    [
      "bad nested condition",
      { OR: [ok, {}] },
      ["filter: OR[1]: a condition needs exactly one of AND, OR, NOT, IN (found none)"],
    ],
    ["IN not an object", { IN: "id" }, ["filter: IN must be an object with fieldPath and values"]],
    ["IN without fieldPath", { IN: { values: [1] } }, ["filter: IN needs fieldPath, a non-empty dot path"]],
    ["empty fieldPath", IN(""), ["filter: IN needs fieldPath, a non-empty dot path"]],
    [
      "fieldPath with an empty segment",
      IN("details..level"),
      ['filter: IN fieldPath "details..level" is not a dot path of field names'],
    ],
    ["IN without values", { IN: { fieldPath: "id" } }, ["filter: IN needs values, a list"]],
    ["values not a list", { IN: { fieldPath: "id", values: 1 } }, ["filter: IN needs values, a list"]],
    [
      "unknown IN key",
      { IN: { fieldPath: "id", values: [], op: "eq" } },
      ['filter: IN has unknown key "op"'],
    ],
    ["path on no type", IN("nope"), ['filter: IN fieldPath "nope" is not a field path of Employee']],
    [
      "nested path on no type",
      IN("details.nope"),
      ['filter: IN fieldPath "details.nope" is not a field path of Employee'],
    ],
    ["path past a leaf", IN("id.x"), ['filter: IN fieldPath "id.x" is not a field path of Employee']],
    [
      "path ends on an object",
      IN("details"),
      ['filter: IN fieldPath "details" ends on Details, not on a scalar or enum'],
    ],
    [
      "template: unknown argument",
      IN("id", "{{ args.nope }}"),
      ['filter: IN: template "{{ args.nope }}" names argument "nope", which emp does not have'],
    ],
    [
      "template: ends on an input object",
      IN("id", "{{ args.input }}"),
      ['filter: IN: template "{{ args.input }}": args.input must end on a scalar or enum'],
    ],
    [
      "template: unknown input field",
      IN("id", "{{ args.input.nope }}"),
      ['filter: IN: template "{{ args.input.nope }}": "nope" is not a field of In'],
    ],
    [
      "template: unreadable placeholder",
      IN("id", "{{ bad }}"),
      [
        'filter: IN: template "{{ bad }}": "{{ bad }}" is not "{{ args.<name> }}" or "{{ request.auth.claims.<name> }}"',
      ],
    ],
    [
      "template: unterminated",
      IN("id", "{{ args.id"),
      ['filter: IN: template "{{ args.id": unterminated "{{"'],
    ],
    [
      "template inside a literal list",
      IN("id", ["{{ args.nope }}"]),
      ['filter: IN: template "{{ args.nope }}" names argument "nope", which emp does not have'],
    ],
    [
      "every problem at once",
      { AND: [IN("nope", "{{ args.x }}"), { OR: [] }] },
      [
        'filter: AND[0].IN fieldPath "nope" is not a field path of Employee',
        'filter: AND[0].IN: template "{{ args.x }}" names argument "x", which emp does not have',
        "filter: AND[1].OR has 0 conditions (1-5 allowed)",
      ],
    ],
  ])("%s", (_name, condition, problems) => {
    expect(check(condition)).toEqual(problems);
  });

  it.each([
    [
      "union",
      "event",
      IN("nope"),
      'filter: IN fieldPath "nope" is not a field path of Event (Updated, Deleted)',
    ],
    [
      "interface",
      "change",
      IN("nope"),
      'filter: IN fieldPath "nope" is not a field path of Change (Changed, Removed)',
    ],
  ])("abstract return type (%s) names its members", (_name, field, condition, problem) => {
    expect(check(condition, field)).toEqual([problem]);
  });
});
