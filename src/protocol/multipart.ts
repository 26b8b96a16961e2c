/**
 * Multipart HTTP subscriptions, pure framing:
 * - Apollo's multipart subscription protocol (`Accept: multipart/mixed;subscriptionSpec="1.0"`):
 *   each part is `{"payload": <ExecutionResult>}`, heartbeats are `{}` parts, transport-level errors
 *   are `{"payload": null, "errors": [...]}`.
 * - GraphQL-over-HTTP incremental delivery (`Accept: multipart/mixed`): each part is the result with
 *   `"hasNext": true`, the last part `{"hasNext": false}`.
 * Parts are separated by `\r\n--graphql\r\n` with a JSON content-type, the stream ends `--graphql--`.
 */

export type MultipartMode = "subscription-spec" | "incremental";

export const BOUNDARY = "graphql";

/** Which multipart flavour an Accept header asks for, or null for neither. */
export function multipartMode(accept: string): MultipartMode | null {
  const lower = accept.toLowerCase();
  if (!lower.includes("multipart/mixed")) return null;
  return /subscriptionspec\s*=\s*"?1\.0"?/.test(lower) ? "subscription-spec" : "incremental";
}

export function contentType(mode: MultipartMode): string {
  return mode === "subscription-spec"
    ? `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`
    : `multipart/mixed;boundary="${BOUNDARY}"`;
}

const PART_HEAD = `\r\n--${BOUNDARY}\r\ncontent-type: application/json; charset=utf-8\r\n\r\n`;

/** One result part; `resultJson` is the already serialized ExecutionResult. */
export function resultPart(mode: MultipartMode, resultJson: string): string {
  if (mode === "subscription-spec") return `${PART_HEAD}{"payload":${resultJson}}`;
  // Splice "hasNext" into the serialized object instead of re-serializing it.
  const body =
    resultJson.endsWith("}") && resultJson !== "{}"
      ? `${resultJson.slice(0, -1)},"hasNext":true}`
      : `{"hasNext":true}`;
  return `${PART_HEAD}${body}`;
}

/** A keep-alive part (subscription spec) or nothing (incremental delivery has none). */
export function heartbeatPart(mode: MultipartMode): string {
  return mode === "subscription-spec" ? `${PART_HEAD}{}` : "";
}

/** A transport-level error part (the operation could not run or the stream broke). */
export function errorPart(mode: MultipartMode, errors: readonly { message: string }[]): string {
  const e = JSON.stringify(errors);
  return mode === "subscription-spec"
    ? `${PART_HEAD}{"payload":null,"errors":${e}}`
    : `${PART_HEAD}{"errors":${e},"hasNext":true}`;
}

/** The closing delimiter (incremental delivery first says there is nothing more). */
export function endParts(mode: MultipartMode): string {
  return mode === "incremental"
    ? `${PART_HEAD}{"hasNext":false}\r\n--${BOUNDARY}--\r\n`
    : `\r\n--${BOUNDARY}--\r\n`;
}
