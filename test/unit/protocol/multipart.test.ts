import { describe, expect, it } from "vitest";
import {
  contentType,
  endParts,
  errorPart,
  heartbeatPart,
  multipartMode,
  resultPart,
} from "../../../src/protocol/multipart.js";

const HEAD = "\r\n--graphql\r\ncontent-type: application/json; charset=utf-8\r\n\r\n";

describe("multipart framing", () => {
  it.each([
    ['multipart/mixed;subscriptionSpec="1.0", application/json', "subscription-spec"],
    ["multipart/mixed; subscriptionSpec=1.0", "subscription-spec"],
    ["multipart/mixed", "incremental"],
    ['multipart/mixed;deferSpec="20220824"', "incremental"],
    ["application/json", null],
    ["text/event-stream", null],
  ])("%s → %s", (accept, mode) => {
    expect(multipartMode(accept)).toBe(mode);
  });

  it("frames Apollo subscription-spec parts", () => {
    expect(contentType("subscription-spec")).toBe(
      'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"',
    );
    expect(resultPart("subscription-spec", '{"data":{"a":1}}')).toBe(`${HEAD}{"payload":{"data":{"a":1}}}`);
    expect(heartbeatPart("subscription-spec")).toBe(`${HEAD}{}`);
    expect(errorPart("subscription-spec", [{ message: "x" }])).toBe(
      `${HEAD}{"payload":null,"errors":[{"message":"x"}]}`,
    );
    expect(endParts("subscription-spec")).toBe("\r\n--graphql--\r\n");
  });

  it("frames incremental delivery parts with hasNext spliced in", () => {
    const part = resultPart("incremental", '{"data":{"a":1}}');
    expect(part).toBe(`${HEAD}{"data":{"a":1},"hasNext":true}`);
    expect(JSON.parse(part.slice(HEAD.length))).toEqual({ data: { a: 1 }, hasNext: true });
    expect(heartbeatPart("incremental")).toBe("");
    expect(endParts("incremental")).toBe(`${HEAD}{"hasNext":false}\r\n--graphql--\r\n`);
  });
});
