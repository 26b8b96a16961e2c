/**
 * WebSocket subprotocol negotiation between graphql-transport-ws and the legacy graphql-ws.
 * Pure: the upgrade handler passes the raw header and echoes the answer (or refuses).
 */
import { GRAPHQL_TRANSPORT_WS_PROTOCOL } from "./graphql-transport-ws.js";
import { GRAPHQL_WS_LEGACY_PROTOCOL } from "./graphql-ws-legacy.js";

/** A subprotocol the router speaks. */
export type Subprotocol = typeof GRAPHQL_TRANSPORT_WS_PROTOCOL | typeof GRAPHQL_WS_LEGACY_PROTOCOL;

/**
 * Picks the subprotocol from a `Sec-WebSocket-Protocol` request header: a comma-separated token
 * list (several header lines arrive joined by commas). graphql-transport-ws wins whenever it is
 * offered, whatever the order, because it is the maintained protocol and the legacy one lacks
 * ping/pong and proper close codes. Tokens are matched exactly (RFC 6455 tokens are
 * case-sensitive). Returns `null` when the client offers only protocols we do not speak; the
 * upgrade is then refused.
 *
 * Tolerance: an absent header, or one with no tokens at all, yields graphql-transport-ws, so
 * hand-written clients (wscat, curl, simple scripts) that skip the header still work. In that
 * case the upgrade handler must NOT echo a `Sec-WebSocket-Protocol` response header: RFC 6455
 * §4.1 makes a client fail the connection when the server names a protocol it did not request.
 * Use {@link offersSubprotocols} to tell the two cases apart.
 */
export function selectSubprotocol(header: string | undefined): Subprotocol | null {
  if (header === undefined) return GRAPHQL_TRANSPORT_WS_PROTOCOL;
  let legacy = false;
  let any = false;
  for (const raw of header.split(",")) {
    const token = raw.trim();
    if (token === "") continue;
    any = true;
    if (token === GRAPHQL_TRANSPORT_WS_PROTOCOL) return GRAPHQL_TRANSPORT_WS_PROTOCOL;
    if (token === GRAPHQL_WS_LEGACY_PROTOCOL) legacy = true;
  }
  if (legacy) return GRAPHQL_WS_LEGACY_PROTOCOL;
  return any ? null : GRAPHQL_TRANSPORT_WS_PROTOCOL;
}

/** Whether the header names at least one subprotocol, i.e. whether the response must echo one. */
export function offersSubprotocols(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(",").some((token) => token.trim() !== "");
}
