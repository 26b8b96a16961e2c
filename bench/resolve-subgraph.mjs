#!/usr/bin/env node
/**
 * The federation subgraph of bench/resolve.mjs (scenario 4 of shared/spec/bench.md): owns
 * `Employee { id name department }` behind `@key(fields: "id")`, served by `@apollo/subgraph` +
 * graphql-js on a plain node:http server, and counts what it receives.
 *
 *   node bench/resolve-subgraph.mjs [--port 0]
 *
 * Prints one JSON line `{"msg":"subgraph listening","port":N}` when ready.
 *
 *   POST /graphql         GraphQL over HTTP (what the router calls)
 *   GET  /count           {requests, entitiesRequests, representations, selections, arrivals, ...}
 *   POST /reset?phase=m   zeroes the counters; `phase` prefixes the department tag (below)
 *
 * `department` is `"Engineering #<phase><n>"`, n = the ordinal of the `_entities` request since the
 * last reset. A client therefore sees which subgraph request served each event it receives: with
 * one `_entities` request per event, event k carries tag <phase>(k+1) at every subscriber, whatever
 * its operation; more than one distinct tag per event means the router fetched more than once.
 */
import http from "node:http";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { execute, parse, validate } from "graphql";

export const EMPLOYEES_SDL = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
type Employee @key(fields: "id") {
  id: ID!
  name: String!
  department: String!
}
type Query {
  employee(id: ID!): Employee
}
`;

const employee = (id, tag) => ({ id, name: `Employee ${id}`, department: `Engineering #${tag}` });

const schema = buildSubgraphSchema([
  {
    typeDefs: parse(EMPLOYEES_SDL),
    resolvers: {
      Query: { employee: (_root, { id }, ctx) => employee(id, ctx.tag) },
      Employee: { __resolveReference: (ref, ctx) => employee(ref.id, ctx.tag) },
    },
  },
]);

const now = () => performance.timeOrigin + performance.now();
let phase = "x";
let counters;
function reset(p) {
  if (p) phase = p;
  counters = {
    phase,
    since: now(),
    requests: 0, // every POST /graphql
    entitiesRequests: 0, // requests whose document selects _entities
    representations: 0, // summed over _entities requests
    errors: 0, // requests answered with GraphQL errors
    selections: {}, // _entities query text → count (shows the merged selection)
    arrivals: [], // absolute ms of each _entities request
    batchSizes: {}, // representations per _entities request → count
  };
}
reset();

const documents = new Map(); // query text → parsed + validated document (the router repeats them)
function documentOf(text) {
  let d = documents.get(text);
  if (!d) {
    const doc = parse(text);
    const errors = validate(schema, doc);
    const entities = doc.definitions.some(
      (def) =>
        def.kind === "OperationDefinition" &&
        def.selectionSet.selections.some((s) => s.kind === "Field" && s.name.value === "_entities"),
    );
    d = { doc, errors, entities };
    if (documents.size < 1000) documents.set(text, d);
  }
  return d;
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function graphqlRequest(body) {
  const at = now();
  counters.requests++;
  const { query, variables, operationName } = JSON.parse(body);
  const d = documentOf(query);
  if (d.errors.length > 0) {
    counters.errors++;
    return { errors: d.errors.map((e) => ({ message: e.message })) };
  }
  let tag = `${phase}0`;
  if (d.entities) {
    counters.entitiesRequests++;
    tag = `${phase}${counters.entitiesRequests}`;
    const reps = Array.isArray(variables?.representations) ? variables.representations.length : 0;
    counters.representations += reps;
    counters.batchSizes[reps] = (counters.batchSizes[reps] ?? 0) + 1;
    counters.selections[query] = (counters.selections[query] ?? 0) + 1;
    counters.arrivals.push(at);
  }
  const result = await execute({
    schema,
    document: d.doc,
    variableValues: variables,
    operationName,
    contextValue: { tag },
  });
  if (result.errors?.length) counters.errors++;
  return result;
}

function handle(req, res) {
  const url = new URL(req.url, "http://x");
  if (req.method === "GET" && url.pathname === "/count") return send(res, 200, counters);
  if (req.method === "POST" && url.pathname === "/reset") {
    reset(url.searchParams.get("phase") ?? undefined);
    return send(res, 200, { ok: true, phase });
  }
  if (req.method === "POST" && url.pathname === "/graphql") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      graphqlRequest(Buffer.concat(chunks).toString("utf8")).then(
        (r) => send(res, 200, r),
        (err) => {
          counters.errors++;
          send(res, 400, { errors: [{ message: String(err?.message ?? err) }] });
        },
      );
    });
    return;
  }
  send(res, 404, { error: "not found" });
}

// Run as a program (bench/resolve.mjs imports EMPLOYEES_SDL only).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
  const server = http.createServer(handle);
  server.keepAliveTimeout = 60_000;
  server.listen(Number(values.port), "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ msg: "subgraph listening", port: server.address().port })}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
