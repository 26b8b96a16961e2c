/**
 * What every client request passes before the router does anything for it: the request head
 * limits (414, 431) and, for connections (WebSocket upgrades, SSE/multipart streams), the
 * connection limits (503 per process, 429 per address). Each refusal is answered with a GraphQL
 * error body (code SG_ERR_LIMIT_EXCEEDED) and counted; nothing else happens for that request.
 */
import { addressKey, type ConnectionLimiter } from "../security/connections.js";
import { type LimitCounter, limitError } from "../security/limits.js";
import { type Reply, sendErrors } from "./reply.js";
import type { HttpRequest, HttpResponse } from "./uws.js";

/**
 * The request head limit. uWebSockets.js 20.30 buffers at most 4 KiB of a request head that
 * arrives in more than one read and drops the connection without a status past it; a head that
 * arrives in one read is not bounded at all. So a 5 KiB head works or not depending on how the
 * network split it. Refusing every head past 4 KiB here makes the limit deterministic and gives
 * the client a status whenever uWS lets a request through (docs/security.md).
 */
export const MAX_HEAD_BYTES = 4096;

export interface Admission {
  readonly limiter: ConnectionLimiter;
  readonly counter: LimitCounter;
}

/**
 * Answers 414 (URL) or 431 (headers) and returns false when the request head is over the limit.
 * Reads `req`, so call it before anything asynchronous.
 */
export function headWithinLimits(req: HttpRequest, reply: Reply, counter: LimitCounter): boolean {
  const query = req.getQuery() ?? "";
  const urlBytes = Buffer.byteLength(req.getUrl()) + (query === "" ? 0 : 1 + Buffer.byteLength(query));
  if (urlBytes > MAX_HEAD_BYTES) {
    counter.refused("max_url_length");
    const error = limitError("max_url_length", `URL longer than ${MAX_HEAD_BYTES} bytes`);
    sendErrors(reply, "414 URI Too Long", [error], [], true);
    return false;
  }
  // Request line plus "name: value\r\n" per header, as the client sent them (near enough).
  let headBytes = urlBytes + 16;
  req.forEach((name, value) => {
    headBytes += name.length + value.length + 4;
  });
  if (headBytes > MAX_HEAD_BYTES) {
    counter.refused("max_header_size");
    const error = limitError("max_header_size", `request headers larger than ${MAX_HEAD_BYTES} bytes`);
    sendErrors(reply, "431 Request Header Fields Too Large", [error], [], true);
    return false;
  }
  return true;
}

/** The address key of the client of `res` (read it before anything asynchronous). */
export function clientKey(res: HttpResponse): Uint8Array {
  return addressKey(res.getRemoteAddress());
}

/**
 * Counts a new connection from `key`; returns its ticket, or undefined after answering 503
 * (process full) or 429 (this address has too many).
 */
export function admitConnection(reply: Reply, key: Uint8Array, admission: Admission): number | undefined {
  const result = admission.limiter.admit(key);
  if (result.ok) return result.ticket;
  admission.counter.refused(result.limit);
  if (result.limit === "max_connections") {
    const error = limitError("max_connections", "the server has too many connections; retry later");
    sendErrors(reply, "503 Service Unavailable", [error], [["retry-after", "5"]]);
  } else {
    const error = limitError("max_connections_per_ip", "too many connections from this address");
    sendErrors(reply, "429 Too Many Requests", [error], [["retry-after", "5"]]);
  }
  return undefined;
}
