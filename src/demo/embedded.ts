/**
 * The embedded default (contract.md): with no config, `npm start` serves an event-driven demo on
 * the in-process broker. An in-process responder answers `employeeFromEvent` (NATS request/reply)
 * so the Query side works too, and an in-process HTTP subgraph resolves the entity fields.
 */
import { configFromObject } from "../config/loader.js";
import type { Config } from "../config/types.js";
import { MemoryProvider } from "../providers/memory/provider.js";
import type { ManagedProvider } from "../providers/factory.js";
import type { PlaygroundExamples } from "../router.js";
import { DEMO_EMPLOYEES_SDL } from "./entity-subgraph.js";

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
  subscription: `# Run this, then the mutation on the right (or in a second tab).
# The event carries only the id; name, role and department come from the
# demo's HTTP subgraph through _entities, once per event for all subscribers.
subscription {
  employeeUpdated(id: "1") {
    id
    name
    role
    department { name }
  }
}`,
  mutation: `mutation {
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

/** Answers getEmployee.<id> requests on the demo's in-process broker. */
export function installDemoResponder(providers: ReadonlyMap<string, ManagedProvider>): void {
  const p = providers.get("default");
  if (!(p instanceof MemoryProvider)) return;
  p.respond("getEmployee.*", (data) => {
    const args = JSON.parse(new TextDecoder().decode(data)) as { id?: unknown };
    return encoder.encode(JSON.stringify({ __typename: "Employee", id: String(args.id) }));
  });
}
