/**
 * The one schema every stack serves, so every stack sends the same bytes per event:
 * `{"id":"1","type":"next","payload":{"data":{"employeeUpdated":{"__typename":"Employee","id":"<seq>:<ts>[:pad]"}}}}`.
 * The event-driven schema exposes key fields only, so the publish timestamp travels inside the key.
 */

/** Streamgate's event-driven SDL per broker: `edfsSdl(kind)` in lib/brokers.mjs. */

/** The same field for the graphql-js baselines. */
export const PLAIN_SDL = `
type Query { ok: Boolean }
type Subscription { employeeUpdated(id: ID!): Employee! }
type Employee { id: ID! }
`;

export const SUBSCRIPTION = "subscription($id: ID!) { employeeUpdated(id: $id) { __typename id } }";
