import { describe, expect, it } from "vitest";
import { decodeFrame, describeType, truncateUtf8 } from "../../../src/protocol/common.js";

describe("decodeFrame", () => {
  it("passes strings through and decodes valid UTF-8", () => {
    expect(decodeFrame("x")).toBe("x");
    expect(decodeFrame(new Uint8Array([0xe2, 0x82, 0xac]))).toBe("€");
    expect(decodeFrame(new Uint8Array([0xf0, 0x9f, 0x98, 0x80]).buffer)).toBe("😀");
  });

  it.each([
    ["lone continuation byte", [0x80]],
    ["overlong encoding", [0xc0, 0xaf]],
    ["encoded surrogate", [0xed, 0xa0, 0x80]],
    ["truncated sequence", [0xf0, 0x9f, 0x98]],
    ["beyond U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ])("rejects %s", (_name, input) => {
    expect(decodeFrame(new Uint8Array(input))).toBeNull();
  });

  it("stays usable after a failure (no leftover decoder state)", () => {
    expect(decodeFrame(new Uint8Array([0xe2, 0x82]))).toBeNull();
    expect(decodeFrame(new Uint8Array([0xac, 0x41]))).toBeNull();
    expect(decodeFrame(new Uint8Array([0x41]))).toBe("A");
  });
});

describe("truncateUtf8", () => {
  it.each<[string, number, string]>([
    ["abc", 3, "abc"],
    ["abcd", 3, "abc"],
    ["€€", 5, "€"],
    ["€€", 6, "€€"],
    ["a😀", 4, "a"],
    ["a😀", 5, "a😀"],
    ["ÿ", 1, ""],
    ["anything", 0, ""],
  ])("%j to %d bytes", (text, max, expected) => {
    expect(truncateUtf8(text, max)).toBe(expected);
  });
});

describe("describeType", () => {
  it.each<[unknown, string]>([
    [null, "null"],
    [[], "array"],
    [{}, "object"],
    ["", "string"],
    [undefined, "undefined"],
  ])("%j → %s", (value, expected) => {
    expect(describeType(value)).toBe(expected);
  });
});
