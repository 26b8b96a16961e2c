// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} in plain strings is the syntax under test.
import { describe, expect, it } from "vitest";
import { interpolateEnv } from "../../../src/config/interpolate.js";

describe("interpolateEnv", () => {
  it("replaces references in string values, keeping other text", () => {
    const result = interpolateEnv(
      { url: "nats://${HOST}:${PORT}", n: 3, ok: true, none: null },
      {
        HOST: "broker",
        PORT: "4222",
      },
    );
    expect(result.problems).toEqual([]);
    expect(result.value).toEqual({ url: "nats://broker:4222", n: 3, ok: true, none: null });
    expect(result.interpolated).toEqual([["url"]]);
  });

  it("reaches strings nested in arrays and objects", () => {
    const doc = { a: [{ b: ["x", "${V}"] }, "${V}"] };
    const result = interpolateEnv(doc, { V: "v" });
    expect(result.value).toEqual({ a: [{ b: ["x", "v"] }, "v"] });
    expect(result.interpolated).toEqual([
      ["a", 0, "b", 1],
      ["a", 1],
    ]);
  });

  it("does not touch keys, nor the input document", () => {
    const doc = { "${K}": "${K}" };
    const result = interpolateEnv(doc, { K: "k" });
    expect(result.value).toEqual({ "${K}": "k" });
    expect(doc).toEqual({ "${K}": "${K}" });
  });

  it("reports a missing variable with its path and leaves the value as written", () => {
    const result = interpolateEnv({ events: { nats: [{ token: "${NATS_TOKEN}" }] } }, {});
    expect(result.problems).toEqual([
      { path: ["events", "nats", 0, "token"], message: "environment variable NATS_TOKEN is not set" },
    ]);
    expect(result.value).toEqual({ events: { nats: [{ token: "${NATS_TOKEN}" }] } });
  });

  it("reports every missing variable", () => {
    const result = interpolateEnv({ a: "${A}-${B}", b: ["${C}"] }, { B: "b" });
    expect(result.problems.map((p) => p.message)).toEqual([
      "environment variable A is not set",
      "environment variable C is not set",
    ]);
  });

  it("treats an empty variable as set", () => {
    expect(interpolateEnv({ a: "x${E}y" }, { E: "" }).value).toEqual({ a: "xy" });
  });

  it("does not resolve names from Object.prototype", () => {
    expect(interpolateEnv({ a: "${constructor}" }, {}).problems).toHaveLength(1);
  });

  it("turns $${NAME} into a literal ${NAME}", () => {
    const result = interpolateEnv({ a: "$${HOME} and ${X}", b: "cost: $5" }, { X: "x" });
    expect(result.problems).toEqual([]);
    expect(result.value).toEqual({ a: "${HOME} and x", b: "cost: $5" });
  });

  it("never re-expands a substituted value", () => {
    expect(interpolateEnv({ a: "${A}" }, { A: "${B}", B: "no" }).value).toEqual({ a: "${B}" });
  });

  it("rejects invalid names and an unterminated reference", () => {
    const result = interpolateEnv({ a: "${1X}", b: "${OPEN" }, {});
    expect(result.problems).toEqual([
      { path: ["a"], message: 'invalid environment variable name "1X" in ${1X}' },
      { path: ["b"], message: "unterminated ${ (write $${ for a literal ${)" },
    ]);
  });
});
