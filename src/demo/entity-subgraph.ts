/**
 * The embedded demo's ordinary subgraph: a tiny federation subgraph over HTTP, in-process, that
 * resolves Employee and Department entities. It is what a stateless service behind the router
 * looks like: `_entities` and `_service` over plain HTTP, no subscription code at all. It keeps the
 * names published through the demo's `updateEmployee` (see {@link DemoEmployees}), as a real
 * service would keep what it was told, so an event shows the name just published.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { buildSchema, graphql } from "graphql";
import { LRUCache } from "lru-cache";

/** The SDL the router composes (federation v2). */
export const DEMO_EMPLOYEES_SDL = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

type Employee @key(fields: "id") {
  id: ID!
  name: String!
  role: String!
  department: Department!
}

type Department @key(fields: "id") {
  id: ID!
  name: String!
}

type Query {
  employees: [Employee!]!
  employee(id: ID!): Employee
}
`;

// The executable form: federation's _entities/_service spelled out for graphql-js.
const EXECUTABLE = buildSchema(`
scalar _Any
union _Entity = Employee | Department
type _Service { sdl: String }
type Employee { id: ID! name: String! role: String! department: Department! }
type Department { id: ID! name: String! }
type Query {
  _entities(representations: [_Any!]!): [_Entity]!
  _service: _Service!
  employees: [Employee!]!
  employee(id: ID!): Employee
}
`);

const DEPARTMENTS: Record<string, string> = { eng: "Engineering", ops: "Operations", res: "Research" };
const PEOPLE: [string, string, string][] = [
  ["Ada Lovelace", "Analyst", "res"],
  ["Grace Hopper", "Rear Admiral", "eng"],
  ["Alan Turing", "Cryptanalyst", "res"],
  ["Margaret Hamilton", "Director", "eng"],
  ["Katherine Johnson", "Mathematician", "ops"],
];

// A name longer than this is cut: the demo keeps what anyone publishes, so it must stay small.
const MAX_NAME = 200;

/**
 * The demo's employee records: the fixed list, plus the names published through `updateEmployee`
 * (embedded.ts feeds them in), so the subscription shows the name just published. At most 1,000
 * renamed ids are kept (least recently used first out): ids are whatever clients send.
 */
export class DemoEmployees {
  private readonly renamed = new LRUCache<string, string>({ max: 1000 });

  /** Stores a published name for `id`. */
  rename(id: string, name: string): void {
    this.renamed.set(id, name.slice(0, MAX_NAME));
  }

  employee(id: string) {
    const [name, role, dept] = PEOPLE[(Math.abs(Number.parseInt(id, 10)) || 0) % PEOPLE.length]!;
    const published = this.renamed.get(id);
    return {
      __typename: "Employee",
      id,
      name: published ?? `${name} (#${id})`,
      role,
      department: department(dept),
    };
  }
}

function department(id: string) {
  return { __typename: "Department", id, name: DEPARTMENTS[id] ?? `Department ${id}` };
}

function rootValue(people: DemoEmployees) {
  const employee = (id: string) => people.employee(id);
  return {
    _entities: ({ representations }: { representations: { __typename: string; id: string }[] }) =>
      representations.map((r) =>
        r.__typename === "Employee"
          ? employee(String(r.id))
          : r.__typename === "Department"
            ? department(String(r.id))
            : null,
      ),
    _service: () => ({ sdl: DEMO_EMPLOYEES_SDL }),
    employees: () => PEOPLE.map((_, i) => employee(String(i + 1))),
    employee: ({ id }: { id: string }) => employee(id),
  };
}

// It may listen beyond loopback (docker/compose.yaml): a request body is bounded like the router's.
const MAX_BODY = 1024 * 1024;

/** A GraphQL-over-HTTP body, or what is wrong with it. */
function parseRequest(text: string): { query: string; variables: Record<string, unknown> } | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return "bad JSON";
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "body must be a JSON object";
  const { query, variables } = body as { query?: unknown; variables?: unknown };
  if (typeof query !== "string") return "query must be a string";
  if (
    variables !== undefined &&
    variables !== null &&
    (typeof variables !== "object" || Array.isArray(variables))
  )
    return "variables must be an object";
  return { query, variables: (variables ?? {}) as Record<string, unknown> };
}

export interface DemoSubgraph {
  readonly url: string;
  /** The records it serves; the embedded demo stores published names here. */
  readonly employees: DemoEmployees;
  close(): Promise<void>;
}

/** Starts the demo subgraph, by default on 127.0.0.1 and a free port. */
export function startDemoSubgraph(
  employees = new DemoEmployees(),
  listen: { host: string; port: number } = { host: "127.0.0.1", port: 0 },
): Promise<DemoSubgraph> {
  const root = rootValue(employees);
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      if (!res.headersSent) res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on("error", () => res.destroy());
    req.on("end", () => {
      if (size > MAX_BODY) return reply(413, { errors: [{ message: "request body too large" }] });
      const body = parseRequest(Buffer.concat(chunks).toString("utf8"));
      if (typeof body === "string") return reply(400, { errors: [{ message: body }] });
      graphql({
        schema: EXECUTABLE,
        source: body.query,
        rootValue: root,
        variableValues: body.variables,
      }).then(
        (result) => reply(200, result),
        (err: unknown) => reply(400, { errors: [{ message: String((err as Error)?.message ?? err) }] }),
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${port}/graphql`,
        employees,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
