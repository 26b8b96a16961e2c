/**
 * The request side of a hook's context, built once per subscription or mutation and shared by
 * every call for it; each call adds its own `signal` and arguments.
 */
import type { RequestContext } from "../engine/types.js";
import type { HookContext } from "./types.js";

/** A HookContext without the per-call signal. */
export type HookRequest = Omit<HookContext, "signal">;

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** What a hook may know of `ctx` and the operation, frozen (hooks share it). */
export function hookRequest(
  ctx: RequestContext,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  field: string,
  providerId: string,
): HookRequest {
  return Object.freeze({
    claims: ctx.auth?.claims ?? null,
    headers: ctx.headers ?? NO_HEADERS,
    connectionParams: ctx.connectionParams,
    operationName: operationName ?? null,
    variables: variables ?? {},
    field,
    providerId,
  });
}

/** onReceiveEvents runs for a trigger, not for a client: the request keys are empty. */
export function triggerRequest(field: string, providerId: string): HookRequest {
  return Object.freeze({
    claims: null,
    headers: NO_HEADERS,
    connectionParams: null,
    operationName: null,
    variables: Object.freeze({}),
    field,
    providerId,
  });
}

const decoder = new TextDecoder();

/** A Kafka key as text (hooks see strings; a key that is not UTF-8 shows replacement characters). */
export function keyText(key: Uint8Array | undefined): string | null {
  return key === undefined ? null : decoder.decode(key);
}
