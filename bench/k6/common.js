// Shared by the k6 scripts (k6 >= 0.45; `k6/ws`). Not run by the harness: for users who have k6.
// Targets a Streamgate started with bench/k6/streamgate.json (or any router serving the bench
// schema of bench/lib/schema.mjs): WS_URL=ws://127.0.0.1:3002/graphql.
export const WS_URL = __ENV.WS_URL || "ws://127.0.0.1:3002/graphql";
export const HTTP_URL = __ENV.HTTP_URL || WS_URL.replace(/^ws/, "http");
export const PARAMS = { headers: { "Sec-WebSocket-Protocol": "graphql-transport-ws" } };
export const SUBSCRIPTION = "subscription($id: ID!) { employeeUpdated(id: $id) { __typename id } }";
export const PUBLISH = "mutation($t: ID!, $id: ID!) { publishEmployee(topic: $t, id: $id) { success } }";

export function subscribeMessage(id, topic) {
  return JSON.stringify({
    id: String(id),
    type: "subscribe",
    payload: { query: SUBSCRIPTION, variables: { id: topic } },
  });
}

/** "<seq>:<ts>" → publish timestamp in ms, or null for other frames. */
export function publishTs(frame) {
  const at = frame.lastIndexOf('"id":"');
  if (at < 0 || frame.indexOf('"type":"next"') < 0) return null;
  const rest = frame.slice(at + 6);
  const parts = rest.split(":");
  return parts.length >= 2 ? Number.parseFloat(parts[1]) : null;
}
