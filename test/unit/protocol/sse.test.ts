import { describe, expect, it } from "vitest";
import { sseComment, sseEvent, sseRetry } from "../../../src/protocol/sse.js";

describe("sseEvent", () => {
  it.each<[string, string, string]>([
    ["next", sseEvent("next", '{"data":{"a":1}}'), 'event: next\ndata: {"data":{"a":1}}\n\n'],
    ["next with id", sseEvent("next", '{"data":1}', "c:42"), 'event: next\nid: c:42\ndata: {"data":1}\n\n'],
    ["complete", sseEvent("complete"), "event: complete\ndata:\n\n"],
    ["complete with id", sseEvent("complete", undefined, "7"), "event: complete\nid: 7\ndata:\n\n"],
    ["empty data", sseEvent("next", ""), "event: next\ndata:\n\n"],
    ["empty id", sseEvent("next", "{}", ""), "event: next\nid: \ndata: {}\n\n"],
    ["LF split", sseEvent("next", '{\n  "a": 1\n}'), 'event: next\ndata: {\ndata:   "a": 1\ndata: }\n\n'],
    [
      "CRLF and CR split",
      sseEvent("next", "[1,\r\n2,\r3]"),
      "event: next\ndata: [1,\ndata: 2,\ndata: 3]\n\n",
    ],
    ["id sanitized", sseEvent("next", "{}", "a\nb\rc\0d"), "event: next\nid: abcd\ndata: {}\n\n"],
  ])("%s", (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });

  it("round-trips multi-line data through the SSE line grammar", () => {
    const json = JSON.stringify({ data: { text: "line1\nline2" } }, null, 2);
    const frame = sseEvent("next", json);
    // Parse as an EventSource would: data lines joined by "\n".
    const dataLines = frame
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
    expect(JSON.parse(dataLines.join("\n"))).toStrictEqual({ data: { text: "line1\nline2" } });
    expect(frame.endsWith("\n\n")).toBe(true);
    expect(frame.slice(0, -2)).not.toContain("\n\n");
  });
});

describe("sseComment", () => {
  it.each<[string, string]>([
    ["", ":\n\n"],
    ["keep-alive", ": keep-alive\n\n"],
    ["a\nb", ": a\n: b\n\n"],
    ["a\r\n\nb", ": a\n:\n: b\n\n"],
  ])("%j", (text, expected) => {
    expect(sseComment(text)).toBe(expected);
  });
});

describe("sseRetry", () => {
  it.each<[number, string]>([
    [3000, "retry: 3000\n\n"],
    [0, "retry: 0\n\n"],
    [1500.9, "retry: 1500\n\n"],
    [-5, "retry: 0\n\n"],
    [Number.NaN, "retry: 0\n\n"],
    [Number.POSITIVE_INFINITY, `retry: ${Number.MAX_SAFE_INTEGER}\n\n`],
    [1e21, `retry: ${Number.MAX_SAFE_INTEGER}\n\n`],
  ])("%d", (ms, expected) => {
    expect(sseRetry(ms)).toBe(expected);
  });
});
