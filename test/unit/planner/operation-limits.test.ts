import { parse } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { loadJit } from "../../../src/planner/jit.js";
import { checkOperationLimits, type OperationLimits } from "../../../src/planner/operation-limits.js";
import { Planner } from "../../../src/planner/plan.js";
import { loadSupergraph, type Supergraph } from "../../../src/schema/supergraph.js";
import type { LimitName } from "../../../src/security/limits.js";

// Planning needs graphql-jit, which the engine loads at its first operation.
beforeAll(loadJit);

const LIMITS: OperationLimits = { maxDepth: 4, maxAliases: 3, maxRootFields: 2 };
const check = (doc: string, limits = LIMITS) => checkOperationLimits(parse(doc), limits);

describe("checkOperationLimits", () => {
  it.each([
    ["a flat query", "{ a b }"],
    ["depth exactly at the limit", "{ a { b { c { d } } } }"],
    ["aliases exactly at the limit", "{ x: a { y: b z: c } }"],
    ["a fragment spread once", "{ a { ...F } } fragment F on T { b { c } }"],
    ["an unknown fragment (left to validation)", "{ a { ...Nope } }"],
    ["a fragment cycle (left to validation)", "{ a { ...F } } fragment F on T { b { ...F } }"],
  ])("accepts %s", (_name, doc) => {
    expect(check(doc)).toBeUndefined();
  });

  it.each<[string, string, LimitName, string]>([
    ["one level too deep", "{ a { b { c { d { e } } } } }", "max_operation_depth", "nested 5 fields deep"],
    [
      "depth hidden in fragments",
      "{ a { ...F } } fragment F on T { b { ...G } } fragment G on T { c { d { e } } }",
      "max_operation_depth",
      "nested 5",
    ],
    ["depth in an inline fragment", "{ a { ... on T { b { c { d { e } } } } } }", "max_operation_depth", "5"],
    ["too many aliases", "{ a: x b: x { c: y d: y } }", "max_operation_aliases", "uses 4 aliases"],
    [
      "aliases multiplied by spreads",
      "{ r { ...F ...F } } fragment F on T { a: x b: x }",
      "max_operation_aliases",
      "uses 4 aliases",
    ],
    ["too many root fields", "{ a b c }", "max_operation_root_fields", "selects 3 root fields"],
    [
      "root fields through a fragment",
      "{ ...R a } fragment R on Query { b c }",
      "max_operation_root_fields",
      "3",
    ],
    [
      "a second operation over the limit",
      "query A { a } query B { a b c }",
      "max_operation_root_fields",
      "B",
    ],
  ])("refuses %s", (_name, doc, limit, text) => {
    const v = check(doc);
    expect(v?.limit).toBe(limit);
    expect(v?.message).toContain(text);
  });

  it("measures a fragment bomb by counting, in linear time", () => {
    // F0 has 2 aliases; each Fi spreads F(i-1) twice: F30 expands to 2^31 aliases.
    const frags = ["fragment F0 on T { a: x b: x }"];
    for (let i = 1; i <= 30; i++) frags.push(`fragment F${i} on T { ...F${i - 1} ...F${i - 1} }`);
    const doc = `{ r { ...F30 } } ${frags.join(" ")}`;
    const t0 = performance.now();
    const v = check(doc, { maxDepth: 100, maxAliases: 100, maxRootFields: 10 });
    expect(performance.now() - t0).toBeLessThan(200);
    expect(v?.limit).toBe("max_operation_aliases");
  });

  it("walks no deeper than the limit", () => {
    const deep = `{ ${"a { ".repeat(1000)}b${" }".repeat(1000)} }`;
    expect(check(deep, { maxDepth: 32, maxAliases: 100, maxRootFields: 10 })?.message).toContain(
      "nested 33 fields deep",
    );
  });
});

describe("Planner with operation limits", () => {
  let sg: Supergraph;
  beforeAll(async () => {
    sg = await loadSupergraph([
      {
        name: "events",
        schema: `type Query { employee(id: ID!): Employee! @edfs__natsRequest(subject: "e.{{ args.id }}") }
          type Employee @key(fields: "id", resolvable: false) { id: ID! @external }`,
      },
    ]);
  });

  it("refuses with SG_ERR_LIMIT_EXCEEDED naming the limit, before validation, and counts every use", () => {
    const refused: LimitName[] = [];
    const p = new Planner(sg.schema, sg.bindings, {
      operationLimits: { maxDepth: 32, maxAliases: 2, maxRootFields: 10 },
      onLimit: (l) => refused.push(l),
    });
    // Invalid fields too: the limit is checked first, so the answer does not depend on the schema.
    const doc = "{ a: nope b: nope c: nope }";
    for (let i = 0; i < 3; i++) {
      const r = p.plan(doc);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.errors).toEqual([
        {
          message: "operation uses 3 aliases; the limit is 2",
          extensions: { code: "SG_ERR_LIMIT_EXCEEDED", limit: "max_operation_aliases" },
        },
      ]);
    }
    expect(p.cachedPlans).toBe(1);
    expect(refused).toEqual(["max_operation_aliases", "max_operation_aliases", "max_operation_aliases"]);
    // Validation errors are not limit refusals.
    expect(p.plan("{ nope }").ok).toBe(false);
    expect(refused).toHaveLength(3);
    expect(p.plan('{ a: employee(id: "1") { id } b: employee(id: "2") { id } }').ok).toBe(true);
  });

  it("answers a document nested deeper than the parser's stack with an error, never a throw", () => {
    const p = new Planner(sg.schema, sg.bindings, {
      operationLimits: { maxDepth: 1_000_000, maxAliases: 100, maxRootFields: 10 },
    });
    for (const n of [3000, 3300]) {
      const r = p.plan(`{ ${"a { ".repeat(n)}b${" }".repeat(n)} }`);
      expect(!r.ok && r.errors[0]?.extensions?.code).toBe("GRAPHQL_PARSE_FAILED");
    }
  });
});

describe("checkOperationLimits: parser-sized documents", () => {
  it("survives the longest fragment chain 10,000 tokens allow", () => {
    const n = 1200;
    const frags = Array.from({ length: n }, (_, i) =>
      i === n - 1 ? `fragment F${i} on T { x }` : `fragment F${i} on T { ...F${i + 1} }`,
    );
    const doc = parse(`{ r { ...F0 } } ${frags.join(" ")}`, { maxTokens: 10_000 });
    expect(checkOperationLimits(doc, { maxDepth: 32, maxAliases: 100, maxRootFields: 10 })).toBeUndefined();
  });
});
