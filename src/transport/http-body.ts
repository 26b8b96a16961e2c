/** Reading request bodies and parsing GraphQL-over-HTTP requests (uWS specifics kept here). */
import type { OperationRequest } from "../engine/types.js";
import type { Reply } from "./reply.js";

/** A read body, or why there is none: larger than the limit, or slower than the timeout. */
export type BodyResult =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly reason: "too_large" | "timeout" };

/**
 * Collects the body up to `limit` bytes within `timeoutMs` of the request head; `done` is called
 * once. uWS reuses the chunk memory after the callback returns, so every chunk is copied. uWS's
 * own HTTP timeout (~10 s, not renewed by data) would close a slow body silently; this one is
 * shorter and answers 408 (the caller does).
 */
export function readBody(
  reply: Reply,
  limit: number,
  timeoutMs: number,
  done: (result: BodyResult) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const settle = (result: BodyResult): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (!reply.finished) done(result);
  };
  const timer = setTimeout(() => settle({ ok: false, reason: "timeout" }), timeoutMs);
  const onAbort = reply.onAbort;
  reply.onAbort = () => {
    clearTimeout(timer);
    settled = true;
    onAbort?.();
  };
  reply.raw.onData((chunk, isLast) => {
    if (settled || reply.finished) return;
    size += chunk.byteLength;
    if (size > limit) {
      settle({ ok: false, reason: "too_large" });
      return;
    }
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (isLast) settle({ ok: true, body: Buffer.concat(chunks, size) });
  });
}

export type ParsedRequest = { ok: true; request: OperationRequest } | { ok: false; message: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Validates a GraphQL-over-HTTP request object (from a JSON body or query parameters). */
export function toOperationRequest(raw: unknown): ParsedRequest {
  if (!isRecord(raw)) return { ok: false, message: "request body must be a JSON object" };
  const { query, operationName, variables, extensions } = raw;
  if (typeof query !== "string" || query === "")
    return { ok: false, message: '"query" must be a non-empty string' };
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string") {
    return { ok: false, message: '"operationName" must be a string' };
  }
  if (variables !== undefined && variables !== null && !isRecord(variables)) {
    return { ok: false, message: '"variables" must be an object' };
  }
  if (extensions !== undefined && extensions !== null && !isRecord(extensions)) {
    return { ok: false, message: '"extensions" must be an object' };
  }
  return {
    ok: true,
    request: {
      query,
      operationName: (operationName as string | null | undefined) ?? null,
      variables: (variables as Record<string, unknown> | null | undefined) ?? null,
      extensions: (extensions as Record<string, unknown> | null | undefined) ?? null,
    },
  };
}

export function parseJsonBody(body: Buffer): ParsedRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString("utf8"));
  } catch {
    return { ok: false, message: "request body is not valid JSON" };
  }
  return toOperationRequest(raw);
}

/** GET: query, operationName, and JSON-encoded variables/extensions as query parameters. */
export function parseQueryString(qs: string): ParsedRequest {
  const params = new URLSearchParams(qs);
  const raw: Record<string, unknown> = { query: params.get("query") ?? undefined };
  if (params.has("operationName")) raw.operationName = params.get("operationName");
  for (const key of ["variables", "extensions"] as const) {
    const v = params.get(key);
    if (v === null || v === "") continue;
    try {
      raw[key] = JSON.parse(v);
    } catch {
      return { ok: false, message: `"${key}" is not valid JSON` };
    }
  }
  return toOperationRequest(raw);
}
