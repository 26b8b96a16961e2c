import { buildASTSchema, parse } from "graphql";
import { describe, expect, it } from "vitest";
import { AccessModel, deniedErrors } from "../../../src/security/access.js";

const SUPERGRAPH = `
directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
type Query { me: Person  node(id: ID!): Node  payroll: Payroll  open: String }
interface Node { id: ID! }
type Person implements Node { id: ID!  name: String  salary: Int @requiresScopes(scopes: [["hr:read"], ["admin"]]) }
type Robot implements Node { id: ID!  secret: String @authenticated }
type Payroll @authenticated { total: Int }
`;
const schema = buildASTSchema(parse(SUPERGRAPH));
const model = AccessModel.fromSupergraph(SUPERGRAPH);

function touched(query: string) {
  const doc = parse(query);
  const op = doc.definitions.find((d) => d.kind === "OperationDefinition")!;
  return model.touchedBy(schema, doc, op as never).map((t) => [t.coordinate, t.path.join(".")]);
}
const auth = (scope?: string) => ({ claims: { sub: "u", ...(scope ? { scope } : {}) } });

describe("AccessModel", () => {
  it("finds field and type requirements, through aliases, fragments and inline fragments", () => {
    expect(touched("{ open }")).toEqual([]);
    expect(touched("{ me { s: salary } }")).toEqual([["Person.salary", "me.s"]]);
    expect(touched("{ payroll { total } }")).toEqual([["Payroll", "payroll"]]);
    expect(touched("{ ...F } fragment F on Query { me { ...P } } fragment P on Person { salary }")).toEqual([
      ["Person.salary", "me.salary"],
    ]);
    expect(touched('{ node(id: "1") { ... on Robot { secret } } }')).toEqual([
      ["Robot.secret", "node.secret"],
    ]);
  });

  it("denies with UNAUTHORIZED_FIELD_OR_TYPE and the path; any one scope set suffices", () => {
    const t = model.touchedBy(
      schema,
      parse("{ me { salary } payroll { total } }"),
      parse("{ me { salary } payroll { total } }").definitions[0] as never,
    );
    expect(deniedErrors(t, null).map((e) => [e.extensions.code, e.path])).toEqual([
      ["UNAUTHORIZED_FIELD_OR_TYPE", ["me", "salary"]],
      ["UNAUTHORIZED_FIELD_OR_TYPE", ["payroll"]],
    ]);
    expect(deniedErrors(t, auth("profile")).map((e) => e.path)).toEqual([["me", "salary"]]);
    expect(deniedErrors(t, auth("profile hr:read"))).toEqual([]);
    expect(deniedErrors(t, { claims: { scp: ["admin"] } })).toEqual([]);
  });

  it("is empty for a supergraph without the directives", () => {
    expect(AccessModel.fromSupergraph("type Query { a: Int }").empty).toBe(true);
    expect(model.empty).toBe(false);
  });
});
