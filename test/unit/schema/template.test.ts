import { describe, expect, it } from "vitest";
import { ErrorCode, StreamgateError } from "../../../src/errors.js";
import {
  parseTemplate,
  type RenderContext,
  renderTemplate,
  type Template,
  type ValueCheck,
} from "../../../src/schema/template.js";

/** Runs `fn`, expecting a StreamgateError; returns it for exact assertions. */
function thrown(fn: () => unknown): StreamgateError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StreamgateError);
    return err as StreamgateError;
  }
  throw new Error("expected a StreamgateError, nothing was thrown");
}

const render = (source: string, ctx: RenderContext, check?: ValueCheck): string[] =>
  renderTemplate(parseTemplate(source), ctx, check);

describe("parseTemplate", () => {
  it.each([
    ["employeeUpdated", [{ kind: "text", text: "employeeUpdated" }], true],
    ["", [], true],
    ["a}}b", [{ kind: "text", text: "a}}b" }], true],
    [
      "employeeUpdated.{{ args.id }}",
      [
        { kind: "text", text: "employeeUpdated." },
        { kind: "arg", path: ["id"] },
      ],
      false,
    ],
    ["{{args.input.ids}}", [{ kind: "arg", path: ["input", "ids"] }], false],
    [
      "{{ args.a }}-{{   request.auth.claims.tenant.id   }}.x",
      [
        { kind: "arg", path: ["a"] },
        { kind: "text", text: "-" },
        { kind: "claim", path: ["tenant", "id"] },
        { kind: "text", text: ".x" },
      ],
      false,
    ],
    ["{{ args._x9 }}", [{ kind: "arg", path: ["_x9"] }], false],
  ] as const)("parses %j", (source, parts, isStatic) => {
    expect(parseTemplate(source)).toEqual({ source, parts, isStatic });
  });

  it.each([
    ["{{ foo }}", '"{{ foo }}" is not "{{ args.<name> }}"'],
    ["t.{{ args. }}", '"{{ args. }}" is not'],
    ["t.{{ args }}", '"{{ args }}" is not'],
    ["{{}}", '"{{  }}" is not'],
    ["{{ args.a..b }}", '"{{ args.a..b }}" is not'],
    ["{{ args.1a }}", '"{{ args.1a }}" is not'],
    ["{{ args.a-b }}", '"{{ args.a-b }}" is not'],
    ["{{ request.auth.claims }}", '"{{ request.auth.claims }}" is not'],
    ["{{ request.claims.sub }}", '"{{ request.claims.sub }}" is not'],
    ["{{ Args.id }}", '"{{ Args.id }}" is not'],
    ["employee.{{ args.id", 'template "employee.{{ args.id": unterminated "{{"'],
    ["{{ args.a }}.{{", 'template "{{ args.a }}.{{": unterminated "{{"'],
    ["a.{{ args.id }.b", 'unterminated "{{"'],
  ])("rejects %j with TEMPLATE_INVALID", (source, message) => {
    const err = thrown(() => parseTemplate(source));
    expect(err.code).toBe(ErrorCode.TEMPLATE_INVALID);
    expect(err.code).toBe("SG_ERR_TEMPLATE_INVALID");
    expect(err.message).toContain(message);
  });
});

describe("renderTemplate", () => {
  it("returns the source of a static template untouched, whatever the context", () => {
    const t: Template = parseTemplate("employeeUpdated.*");
    expect(renderTemplate(t, { args: {} })).toEqual(["employeeUpdated.*"]);
    // The value check only sees placeholder values, never the schema author's text.
    expect(renderTemplate(t, { args: {} }, () => "never")).toEqual(["employeeUpdated.*"]);
  });

  it.each([
    ["one arg", "employeeUpdated.{{ args.id }}", { id: "7" }, ["employeeUpdated.7"]],
    ["two args", "{{ args.a }}.{{ args.b }}", { a: "x", b: "y" }, ["x.y"]],
    ["same arg twice", "{{ args.a }}-{{ args.a }}", { a: "q" }, ["q-q"]],
    ["nested path", "e.{{ args.input.owner.id }}", { input: { owner: { id: "o1" } } }, ["e.o1"]],
    ["integer", "e.{{ args.id }}", { id: 42 }, ["e.42"]],
    ["float", "e.{{ args.n }}", { n: 1.5 }, ["e.1.5"]],
    ["zero", "e.{{ args.n }}", { n: 0 }, ["e.0"]],
    ["negative", "e.{{ args.n }}", { n: -3 }, ["e.-3"]],
    ["true", "e.{{ args.b }}", { b: true }, ["e.true"]],
    ["false", "e.{{ args.b }}", { b: false }, ["e.false"]],
    ["bigint", "e.{{ args.n }}", { n: 12345678901234567890n }, ["e.12345678901234567890"]],
    ["empty string", "e.{{ args.s }}", { s: "" }, ["e."]],
    ["list", "e.{{ args.ids }}", { ids: ["1", "2", "3"] }, ["e.1", "e.2", "e.3"]],
    ["list keeps duplicates", "e.{{ args.ids }}", { ids: [2, 1, 2] }, ["e.2", "e.1", "e.2"]],
    ["nested list flattened", "e.{{ args.ids }}", { ids: [[1, 2], [3]] }, ["e.1", "e.2", "e.3"]],
    ["list in a nested path", "e.{{ args.input.ids }}", { input: { ids: [5, 6] } }, ["e.5", "e.6"]],
    ["empty list renders nothing", "e.{{ args.ids }}", { ids: [] }, []],
  ] as const)("%s", (_name, source, args, expected) => {
    expect(render(source, { args })).toEqual(expected);
  });

  it("two lists render the cartesian product, first placeholder outermost", () => {
    expect(render("{{ args.a }}.{{ args.b }}", { args: { a: ["1", "2"], b: ["x", "y", "z"] } })).toEqual([
      "1.x",
      "1.y",
      "1.z",
      "2.x",
      "2.y",
      "2.z",
    ]);
    expect(render("{{ args.b }}:{{ args.a }}", { args: { a: [1, 2], b: ["x", "y"] } })).toEqual([
      "x:1",
      "x:2",
      "y:1",
      "y:2",
    ]);
  });

  it("a list next to a scalar repeats the scalar for every element", () => {
    expect(render("t.{{ args.org }}.{{ args.ids }}", { args: { org: "acme", ids: ["a", "b"] } })).toEqual([
      "t.acme.a",
      "t.acme.b",
    ]);
  });

  it("renders verified claims", () => {
    const ctx = { args: { id: "1" }, claims: { sub: "u-9", tenant: { id: 77 } } };
    expect(render("{{ request.auth.claims.tenant.id }}.{{ request.auth.claims.sub }}", ctx)).toEqual([
      "77.u-9",
    ]);
    expect(
      render("c.{{ request.auth.claims.groups }}", { args: {}, claims: { groups: ["a", "b"] } }),
    ).toEqual(["c.a", "c.b"]);
  });

  it.each([
    ["missing arg", "e.{{ args.id }}", { args: {} }, "{{ args.id }} has no value"],
    ["null arg", "e.{{ args.id }}", { args: { id: null } }, "{{ args.id }} has no value"],
    ["missing nested", "e.{{ args.in.id }}", { args: { in: {} } }, "{{ args.in.id }} has no value"],
    ["path through scalar", "e.{{ args.in.id }}", { args: { in: "s" } }, "{{ args.in.id }} has no value"],
    [
      "object value",
      "e.{{ args.in }}",
      { args: { in: { id: 1 } } },
      "{{ args.in }} did not render to a scalar value",
    ],
    [
      "object in list",
      "e.{{ args.in }}",
      { args: { in: [1, { a: 1 }] } },
      "{{ args.in }} did not render to a scalar value",
    ],
    [
      "null in list",
      "e.{{ args.in }}",
      { args: { in: [1, null] } },
      "{{ args.in }} did not render to a scalar value",
    ],
    [
      "claim without auth",
      "e.{{ request.auth.claims.sub }}",
      { args: { sub: "x" } },
      "{{ request.auth.claims.sub }} needs an authenticated request",
    ],
    [
      "missing claim",
      "e.{{ request.auth.claims.sub }}",
      { args: {}, claims: {} },
      "{{ request.auth.claims.sub }} has no value",
    ],
  ] as const)("%s → TEMPLATE_INVALID", (_name, source, ctx, message) => {
    const err = thrown(() => render(source, ctx as RenderContext));
    expect(err.code).toBe(ErrorCode.TEMPLATE_INVALID);
    expect(err.message).toBe(message);
  });

  it("a ValueCheck rejection gives SUBJECT_INVALID naming the placeholder", () => {
    const seen: string[] = [];
    const check: ValueCheck = (v) => {
      seen.push(v);
      return v.includes(".") ? `value "${v}" has a dot` : null;
    };
    expect(render("e.{{ args.id }}", { args: { id: "ok" } }, check)).toEqual(["e.ok"]);
    const err = thrown(() => render("e.{{ args.ids }}", { args: { ids: ["a", "b.c", "d"] } }, check));
    expect(err.code).toBe(ErrorCode.SUBJECT_INVALID);
    expect(err.code).toBe("SG_ERR_SUBJECT_INVALID");
    expect(err.message).toBe('{{ args.ids }}: value "b.c" has a dot');
    // Every element is checked, in order, up to the first rejection; numbers as their text.
    expect(seen).toEqual(["ok", "a", "b.c"]);
  });

  it("the check sees numbers and booleans as rendered text", () => {
    const seen: string[] = [];
    render("{{ args.n }}.{{ args.b }}", { args: { n: 3.25, b: true } }, (v) => {
      seen.push(v);
      return null;
    });
    expect(seen).toEqual(["3.25", "true"]);
  });

  it("a claim value is checked too", () => {
    const err = thrown(() =>
      render("t.{{ request.auth.claims.sub }}", { args: {}, claims: { sub: ">" } }, (v) =>
        v === ">" ? "wildcard" : null,
      ),
    );
    expect(err.code).toBe(ErrorCode.SUBJECT_INVALID);
    expect(err.message).toBe("{{ request.auth.claims.sub }}: wildcard");
  });
});

describe("renderTemplate through list arguments", () => {
  it("maps a path through a list of input objects over its elements", () => {
    expect(
      renderTemplate(parseTemplate("e.{{ args.in.id }}"), { args: { in: [{ id: 1 }, { id: 2 }] } }),
    ).toEqual(["e.1", "e.2"]);
  });
  it("skips elements without the field", () => {
    expect(
      renderTemplate(parseTemplate("e.{{ args.in.id }}"), { args: { in: [{ id: 1 }, { x: 2 }] } }),
    ).toEqual(["e.1"]);
  });
});
