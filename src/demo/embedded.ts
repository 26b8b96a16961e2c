/**
 * The embedded default (contract.md): with no config, `npm start` serves an event-driven demo on
 * the in-process broker. An in-process responder answers `employeeFromEvent` (NATS request/reply)
 * so the Query side works too, and an in-process HTTP subgraph resolves the entity fields; an
 * in-process listener on employeeUpdated.* stores the names published, which that subgraph serves.
 */
import { configFromObject } from "../config/loader.js";
import type { Config } from "../config/types.js";
import { MemoryProvider } from "../providers/memory/provider.js";
import type { ManagedProvider } from "../providers/factory.js";
import type { PlaygroundExamples } from "./playground.js";
import { DEMO_EMPLOYEES_SDL, type DemoEmployees } from "./entity-subgraph.js";
import type { Logger } from "../observability/logger.js";
import { errorMessage } from "../errors.js";

export const DEMO_EVENTS_SDL = `
type Query {
  "Asks whoever answers getEmployee.<id> over NATS request/reply (the demo answers in-process)."
  employeeFromEvent(id: ID!): Employee! @edfs__natsRequest(subject: "getEmployee.{{ args.id }}")
}

type Mutation {
  "Publishes {id, update} to employeeUpdated.<id>."
  updateEmployee(id: ID!, update: EmployeeUpdate): edfs__PublishResult!
    @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}")
}

type Subscription {
  "Events for one employee."
  employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.{{ args.id }}"])
  "Events for every employee."
  anyEmployeeUpdated: Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.*"])
}

input EmployeeUpdate {
  name: String
}

type Employee @key(fields: "id", resolvable: false) {
  id: ID! @external
}
`;

export const DEMO_EXAMPLES: PlaygroundExamples = {
  subscription: `# Run this (▶ or Ctrl/⌘+Enter). Then open this page in
# a second browser tab, pick the UpdateEmployee tab there
# and run it: the event arrives here. (Switching tabs in
# one page stops the running subscription.)
# The event carries only the id: name, role and
# department come from the demo's HTTP subgraph through
# _entities, once per event for all subscribers.
subscription OnEmployeeUpdated {
  employeeUpdated(id: "1") {
    id
    name
    role
    department { name }
  }
}`,
  mutation: `# Publishes {"id":"1","update":{"name":"Ada"}} on
# employeeUpdated.1; the demo subgraph keeps the new name.
mutation UpdateEmployee {
  updateEmployee(id: "1", update: { name: "Ada" }) {
    success
  }
}`,
};

/** The demo config; `employeesUrl` is where the in-process entity subgraph listens. */
export function demoConfig(employeesUrl: string, overrides: Record<string, unknown> = {}): Config {
  return configFromObject({
    listen_addr: "127.0.0.1:3002",
    subgraphs: [
      { name: "employees", routing_url: employeesUrl, schema: DEMO_EMPLOYEES_SDL },
      { name: "events", schema: DEMO_EVENTS_SDL },
    ],
    events: { providers: { nats: [{ id: "default", url: "memory://" }] } },
    ...overrides,
  });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The name in an updateEmployee payload (`{"id":…,"update":{"name":…}}`), or undefined. */
export function publishedName(data: Uint8Array): { id: string; name: string } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null) return undefined;
  const { id, update } = body as { id?: unknown; update?: unknown };
  if (typeof id !== "string" && typeof id !== "number") return undefined;
  const name =
    typeof update === "object" && update !== null ? (update as { name?: unknown }).name : undefined;
  return typeof name === "string" ? { id: String(id), name } : undefined;
}

/**
 * Wires the demo onto its in-process broker: answers getEmployee.<id> requests, and stores the
 * names published on employeeUpdated.* in `employees`, which the demo subgraph serves. The store
 * is updated when the broker delivers the event, before the router's _entities fetch for the same
 * event can reach the subgraph (that is an HTTP round trip later).
 */
export function installDemo(
  providers: ReadonlyMap<string, ManagedProvider>,
  employees: DemoEmployees,
  logger: Logger,
): void {
  const p = providers.get("default");
  if (!(p instanceof MemoryProvider)) return;
  p.respond("getEmployee.*", (data) => {
    const args = JSON.parse(decoder.decode(data)) as { id?: unknown };
    return encoder.encode(JSON.stringify({ __typename: "Employee", id: String(args.id) }));
  });
  p.subscribe(["employeeUpdated.*"], (events) => {
    for (const e of events) {
      const update = publishedName(e.data);
      if (update) employees.rename(update.id, update.name);
    }
  }).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, "demo: cannot keep published names"));
}
