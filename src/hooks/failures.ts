/**
 * What a failed hook call becomes: the GraphQL errors a client sees (a refusal's own code and
 * message when the hook gave one, a generic message otherwise: a library's error text may name
 * hosts or files), the WebSocket close code a refusal may ask for, and a log line, throttled so
 * a hook failing on every event cannot flood the log.
 */
import { clientError, ErrorCode, errorMessage } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { PlanError } from "../planner/plan.js";
import { HookFailure } from "./runner.js";

const CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
const MAX_MESSAGE = 1000;

/** The hook's own error, when it threw one. */
function thrown(err: unknown): Record<string, unknown> | undefined {
  if (!(err instanceof HookFailure) || err.kind !== "error") return undefined;
  const cause = err.cause;
  return cause !== null && typeof cause === "object" ? (cause as Record<string, unknown>) : undefined;
}

/** The client errors for a failed call (anything else thrown is an internal error). */
export function hookErrors(err: unknown): PlanError[] {
  if (!(err instanceof HookFailure)) return [clientError(ErrorCode.HOOK_FAILED, "a stream hook failed")];
  if (err.kind === "timeout")
    return [clientError(ErrorCode.HOOK_TIMEOUT, `the ${err.hook} hook did not answer in time`)];
  const cause = thrown(err);
  const code = cause?.code;
  if (typeof code === "string" && CODE.test(code)) {
    // A refusal the hook's author meant: its message is for the client.
    const message = typeof cause?.message === "string" && cause.message !== "" ? cause.message : "refused";
    return [{ message: message.slice(0, MAX_MESSAGE), extensions: { code } }];
  }
  return [clientError(ErrorCode.HOOK_FAILED, `the ${err.hook} hook failed`)];
}

/** A WebSocket close code (4000-4999) the hook's error asks for, if any. */
export function closeCodeOf(err: unknown): number | undefined {
  const code = thrown(err)?.closeCode;
  return typeof code === "number" && Number.isInteger(code) && code >= 4000 && code <= 4999
    ? code
    : undefined;
}

/** Logs hook failures, at most one line per (module, hook) per second; the rest are counted in it. */
export class FailureLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly logger: Logger) {}

  report(err: unknown, fields: Record<string, unknown> = {}): void {
    const f = err instanceof HookFailure ? err : undefined;
    const key = f ? `${f.module}\u0000${f.hook}` : "";
    const now = Date.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < 1000) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    this.logger.warn(
      {
        ...fields,
        ...(f ? { module: f.module, hook: f.hook, kind: f.kind } : {}),
        err: errorMessage(err),
        ...(suppressed > 0 ? { suppressed } : {}),
      },
      "stream hook failed",
    );
  }
}
