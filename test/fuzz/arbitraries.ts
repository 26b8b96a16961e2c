/**
 * fast-check arbitraries for hostile input: frames of both WebSocket protocols (valid, mutated,
 * random), GraphQL documents built from the schema's own tokens plus random mutation, JSON
 * variables, broker event bytes, YAML documents and HTTP requests.
 */
import fc from "fast-check";

/** Random edits of a string: insertions, deletions and replacements of characters. */
export function mutated(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 4, unit: "grapheme-ascii" }));
  return fc.tuple(base, fc.array(edit, { maxLength: 4 })).map(([s, edits]) => {
    let out = s;
    for (const [at, del, ins] of edits) {
      const i = out.length === 0 ? 0 : at % (out.length + 1);
      out = out.slice(0, i) + ins + out.slice(i + del);
    }
    return out;
  });
}

/** Strings a hostile client likes: separators, wildcards, globs, unicode, lone surrogates, huge. */
export const hostileString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    ".",
    "*",
    ">",
    "a.b",
    " ",
    "\t",
    "\n",
    "",
    "{{",
    "}}",
    "[",
    "\\",
    "?",
    "\u0000",
    "\ud800",
    "é",
    "🚀",
    "__proto__",
    "constructor",
  ),
  fc.string({ maxLength: 8, unit: "binary" }),
  fc.nat(5000).map((n) => "x".repeat(n)),
);

export const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: "small" },
  fc.jsonValue({ maxDepth: 3 }),
  hostileString,
  fc.array(hostileString, { maxLength: 5 }),
  fc.nat(300).map((n) => Array.from({ length: n }, (_, i) => `id${i}`)),
);

export const variables = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.dictionary(fc.constantFrom("id", "ids", "a", "b", "x", "__proto__"), jsonish, { maxKeys: 4 }),
  jsonish,
);

const FIELDS = [
  "employeeUpdated",
  "employeesUpdated",
  "anyUpdated",
  "pairs",
  "__typename",
  "id",
  "__schema",
  "types",
  "name",
  "fields",
  "employeeFromEvent",
  "updateEmployee",
  "nope",
];
const ARG_VALUES = [
  '"7"',
  '"a.b"',
  '"*"',
  '">"',
  "7",
  "-1",
  "1e400",
  "true",
  "null",
  '["1","2"]',
  "[]",
  '[["x"]]',
  "$id",
  "$ids",
  "$a",
  '{ name: "x" }',
  '"\\u0000"',
  '"""block"""',
];

/** A document from the schema's vocabulary: mostly parses, often validates, sometimes runs. */
const selection: fc.Arbitrary<string> = fc.letrec((tie) => ({
  set: fc.array(tie("sel"), { minLength: 1, maxLength: 4 }).map((sels) => `{ ${sels.join(" ")} }`),
  sel: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(...FIELDS),
    fc
      .tuple(
        fc.option(fc.constantFrom("a", "b", "x1"), { nil: undefined }),
        fc.constantFrom(...FIELDS),
        fc.option(
          fc.array(
            fc.tuple(fc.constantFrom("id", "ids", "a", "b", "update"), fc.constantFrom(...ARG_VALUES)),
            {
              minLength: 1,
              maxLength: 3,
            },
          ),
          { nil: undefined },
        ),
        fc.option(tie("set"), { nil: undefined }),
      )
      .map(
        ([alias, f, args, set]) =>
          `${alias ? `${alias}: ` : ""}${f}${args ? `(${args.map(([k, v]) => `${k}: ${v}`).join(", ")})` : ""}${set ? ` ${set}` : ""}`,
      ),
    tie("set").map((s) => `... on Employee ${s}`),
    fc.constant("...F"),
  ),
})).set as fc.Arbitrary<string>;

export const document = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        "subscription",
        "query",
        "mutation",
        "",
        "subscription S($id: ID!, $ids: [ID!]!, $a: [ID!]!)",
      ),
      selection,
      fc.option(
        selection.map((s) => ` fragment F on Employee ${s}`),
        { nil: "" },
      ),
    )
    .map(([op, sel, frag]) => `${op} ${sel}${frag}`),
  mutated(
    fc.constantFrom(
      'subscription { employeeUpdated(id: "1") { id } }',
      "subscription($ids: [ID!]!) { anyUpdated(ids: $ids) { id __typename } }",
      "{ __typename }",
    ),
  ),
  fc.string({ maxLength: 60 }),
  fc.nat(40).map((n) => `{ ${"a { ".repeat(n)}b${" }".repeat(n)} }`),
);

export const operationName = fc.option(fc.constantFrom("S", "A", "", "nope"), { nil: undefined });

export const operationPayload = fc.record(
  { query: document, variables, operationName, extensions: fc.option(jsonish, { nil: undefined }) },
  { requiredKeys: ["query"] },
);

const TYPES_TRANSPORT = [
  "connection_init",
  "ping",
  "pong",
  "subscribe",
  "complete",
  "next",
  "error",
  "connection_ack",
  "nope",
];
const TYPES_LEGACY = ["connection_init", "start", "stop", "connection_terminate", "data", "ka", "nope"];

/** One client frame: a valid-looking message (maybe with wrong field types), mutated JSON, or bytes. */
export function frame(legacy: boolean): fc.Arbitrary<string | Uint8Array> {
  const message = fc.record(
    {
      type: fc.oneof(fc.constantFrom(...(legacy ? TYPES_LEGACY : TYPES_TRANSPORT)), jsonish),
      id: fc.oneof(fc.constantFrom("1", "2", "3"), hostileString, jsonish),
      payload: fc.oneof(operationPayload, jsonish),
    },
    { requiredKeys: [] },
  );
  const json = message.map((m) => JSON.stringify(m));
  return fc.oneof(
    { weight: 6, arbitrary: json },
    { weight: 2, arbitrary: mutated(json) },
    { weight: 1, arbitrary: json.map((s) => new TextEncoder().encode(s)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );
}

/** Broker event bytes: JSON objects of the right and wrong shapes, and garbage. */
export const eventBytes = fc
  .oneof(
    fc
      .record(
        {
          __typename: fc.oneof(
            fc.constantFrom("Employee", "Query", "NoSuchType", "__proto__", "Mutation"),
            jsonish,
          ),
          id: fc.oneof(fc.constantFrom("1", "7", "x"), jsonish),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
    mutated(fc.constant('{"__typename":"Employee","id":"7"}')),
    jsonish.map((v) => JSON.stringify(v) ?? "null"),
  )
  .chain((s) => fc.oneof(fc.constant(new TextEncoder().encode(s)), fc.uint8Array({ maxLength: 32 })));

/** YAML documents near the config's shape. */
export const yamlText = fc.oneof(
  mutated(
    fc.constantFrom(
      "listen_addr: 127.0.0.1:0\nlimits:\n  max_connections: 5\n",
      "events:\n  providers:\n    nats:\n      - id: default\n        url: nats://x:4222\n",
      "limits: { max_topics_per_subscription: 0, connection_init_timeout: 3s }\n",
      "subgraphs:\n  - name: a\n    routing_url: http://x\n",
      "workers: auto\nheartbeat_interval: 5m\ncors: { allow_origins: ['*'] }\n",
      "a: &x [*x]\n",
      // An environment variable reference the fuzz environment does not set.
      `listen_addr: ${"$"}{NOPE}\n`,
    ),
  ),
  fc.string({ maxLength: 80 }),
  fc
    .dictionary(fc.constantFrom("listen_addr", "limits", "events", "workers", "subgraphs", "x"), jsonish, {
      maxKeys: 3,
    })
    .map((o) => JSON.stringify(o)),
);

const METHODS = ["GET", "POST", "OPTIONS", "PUT", "DELETE", "HEAD", "PATCH", "BREW", ""];
const PATHS = [
  "/graphql",
  "/health/live",
  "/health/ready",
  "/metrics",
  "/",
  "/graphql/",
  "//graphql",
  "/%00",
  "*",
  "/graphql?query={__typename}",
];
const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/graphql-response+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "",
];
const ACCEPTS = [
  "application/json",
  "text/event-stream",
  "multipart/mixed",
  'multipart/mixed;subscriptionSpec="1.0"',
  "application/graphql-response+json",
  "*/*",
  "text/html",
  "",
];

export interface HttpCase {
  readonly method: string;
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

/** An HTTP request: method, path and query, headers and body, valid or not. */
export const httpRequest: fc.Arbitrary<HttpCase> = fc.record({
  method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 6, unit: "grapheme-ascii" })),
  path: fc.oneof(
    fc.constantFrom(...PATHS),
    fc
      .tuple(document, variables)
      .map(
        ([q, v]) =>
          `/graphql?query=${encodeURIComponent(q)}${v === undefined ? "" : `&variables=${encodeURIComponent(JSON.stringify(v) ?? "")}`}`,
      ),
    mutated(fc.constant("/graphql?query=%7B__typename%7D")),
  ),
  headers: fc.array(
    fc.oneof(
      fc.constantFrom(...CONTENT_TYPES).map((v) => ["content-type", v] as const),
      fc.constantFrom(...ACCEPTS).map((v) => ["accept", v] as const),
      fc.tuple(
        fc.constantFrom("origin", "last-event-id", "x-a", "connection", "upgrade", "sec-websocket-protocol"),
        fc.string({ maxLength: 20, unit: "grapheme-ascii" }),
      ),
    ),
    { maxLength: 4 },
  ),
  body: fc.oneof(
    operationPayload.map((p) => JSON.stringify(p)),
    mutated(operationPayload.map((p) => JSON.stringify(p))),
    fc.string({ maxLength: 40 }),
    fc.constant(""),
  ),
});
