import { ErrorCode } from "../../../src/errors.js";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../../src/config/duration.js";

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["10s", 10_000],
    ["1.5s", 1_500],
    ["1.1s", 1_100],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1h0m0.5s", 3_600_500],
    ["0s", 0],
    ["0", 0],
    ["0.5ms", 0.5],
    [0, 0],
    [250, 250],
  ] as const)("%j is %d ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    "",
    "10",
    "10x",
    "s",
    "-1s",
    " 10s",
    "10s ",
    "1.s",
    ".5s",
    "10 s",
    "1e3ms",
    "10S",
    "1d",
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ])("%j is rejected", (input) => {
    expect(() => parseDuration(input)).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });

  it("names the bad input", () => {
    expect(() => parseDuration("10x")).toThrow(/"10x"/);
  });
});
