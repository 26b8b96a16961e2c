/**
 * Server-sent events framing (the graphql-sse "distinct connections" wire format). Pure string
 * builders; the HTTP transport writes them as they come.
 */

/** Event names of the graphql-sse protocol. */
export type SseEventName = "next" | "complete";

// The SSE grammar ends a line at CRLF, LF or CR, so all three must be split out of field values.
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * One event. `dataJson` is already-serialized JSON (serialize once, write to many streams). Each
 * line of it becomes its own `data:` line, which the client joins back with "\n", so even
 * pretty-printed JSON round-trips; JSON.stringify output has no raw line breaks and takes the
 * fast path. Without `dataJson` an empty `data:` line is still written: graphql-sse prints
 * `complete` that way, and an event with no data line is never dispatched by EventSource.
 * `id` feeds `Last-Event-ID` on reconnect; line breaks and NUL (which makes browsers ignore the
 * field) are stripped from it.
 */
export function sseEvent(event: SseEventName, dataJson?: string, id?: string): string {
  let frame = `event: ${event}\n`;
  if (id !== undefined) frame += `id: ${id.replace(/[\r\n\0]/g, "")}\n`;
  if (dataJson === undefined || dataJson === "") return `${frame}data:\n\n`;
  if (!LINE_BREAK.test(dataJson)) return `${frame}data: ${dataJson}\n\n`;
  for (const line of dataJson.split(LINE_BREAK)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

/**
 * A block with only an `id:` line: EventSource records it as the last event id without
 * dispatching anything (there is no data). Idle at-least-once streams get the newest cursor so.
 */
export function sseIdOnly(id: string): string {
  return `id: ${id.replace(/[\r\n\0]/g, "")}\n\n`;
}

/** A comment line (keep-alive); clients ignore it. Multi-line text becomes several comments. */
export function sseComment(text: string): string {
  let frame = "";
  for (const line of text.split(LINE_BREAK)) frame += line === "" ? ":\n" : `: ${line}\n`;
  return `${frame}\n`;
}

/**
 * A `retry:` field telling EventSource how long to wait before reconnecting. The field accepts
 * ASCII digits only, so the value is truncated to an integer and clamped to [0, 2^53 - 1] (where
 * it still prints without an exponent); NaN becomes 0.
 */
export function sseRetry(ms: number): string {
  const value = Number.isNaN(ms) ? 0 : Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.trunc(ms)));
  return `retry: ${value}\n\n`;
}
