/**
 * One registry of stable error codes. Every error the router raises on purpose carries one of
 * these codes, a public message safe to show a client, and (optionally) an internal cause that
 * only goes to the log. docs/errors.md documents each code; a unit test keeps the two in step.
 */
export const ErrorCode = {
  CONFIG_INVALID: "SG_ERR_CONFIG_INVALID",
  CONFIG_READ: "SG_ERR_CONFIG_READ",
  SCHEMA_READ: "SG_ERR_SCHEMA_READ",
  SCHEMA_COMPOSITION: "SG_ERR_SCHEMA_COMPOSITION",
  SCHEMA_EDFS: "SG_ERR_SCHEMA_EDFS",
  PROVIDER_UNKNOWN: "SG_ERR_PROVIDER_UNKNOWN",
  PROVIDER_UNAVAILABLE: "SG_ERR_PROVIDER_UNAVAILABLE",
  PROVIDER_NOT_BUILT: "SG_ERR_PROVIDER_NOT_BUILT",
  TEMPLATE_INVALID: "SG_ERR_TEMPLATE_INVALID",
  SUBJECT_INVALID: "SG_ERR_SUBJECT_INVALID",
  OPERATION_INVALID: "SG_ERR_OPERATION_INVALID",
  OPERATION_UNSUPPORTED: "SG_ERR_OPERATION_UNSUPPORTED",
  EVENT_INVALID: "SG_ERR_EVENT_INVALID",
  PUBLISH_FAILED: "SG_ERR_PUBLISH_FAILED",
  UWS_NATIVE_MISSING: "SG_ERR_UWS_NATIVE_MISSING",
  LISTEN_FAILED: "SG_ERR_LISTEN_FAILED",
  LIMIT_EXCEEDED: "SG_ERR_LIMIT_EXCEEDED",
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class: `message` is public, `cause` is internal. */
export class StreamgateError extends Error {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "StreamgateError";
  }
}

/** A list of problems found together (config, schema): all of them are reported at once. */
export class StreamgateAggregateError extends StreamgateError {
  readonly problems: readonly string[];
  constructor(code: ErrorCodeValue, summary: string, problems: readonly string[]) {
    super(code, `${summary}\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
    this.name = "StreamgateAggregateError";
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
