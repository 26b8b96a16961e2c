import { buildSchema } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { loadJit } from "../../../src/planner/jit.js";
import { Planner } from "../../../src/planner/plan.js";

// Planning needs graphql-jit, which the engine loads at its first operation.
beforeAll(loadJit);

const schema = buildSchema(`
type Query { employee(id: ID!): Employee employees: [Employee!]! }
type Employee { id: ID! name: String! avatar(size: Int!): String! manager: Employee }
`);
const planner = new Planner(schema, new Map());
const plan = (q: string) => planner.plan(q, undefined);

describe("one field with different arguments in one selection set", () => {
  it("is refused with a clear error below the root", () => {
    const r = plan('{ employee(id: "1") { small: avatar(size: 64) big: avatar(size: 256) } }');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]!.message).toMatch(
      /field "avatar" is selected with different arguments \(as "small" and "big"\)/,
    );
    expect(r.errors[0]!.extensions).toEqual({ code: "SG_ERR_OPERATION_UNSUPPORTED" });
  });

  it("is found through fragments and at any depth", () => {
    const r = plan(`{ employee(id: "1") { manager { avatar(size: 1) ...F } } }
      fragment F on Employee { other: avatar(size: 2) }`);
    expect(r.ok).toBe(false);
  });

  it("accepts the same arguments under several aliases, and different arguments at the root", () => {
    expect(plan('{ employee(id: "1") { a: avatar(size: 64) b: avatar(size: 64) name } }').ok).toBe(true);
    expect(plan('{ a: employee(id: "1") { name } b: employee(id: "2") { name } }').ok).toBe(true);
    // Same field name in sibling objects is not a conflict.
    expect(plan('{ employee(id: "1") { avatar(size: 1) manager { avatar(size: 2) } } }').ok).toBe(true);
  });
});
