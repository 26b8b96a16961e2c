import { describe, expect, it } from "vitest";
import { CONFIG_SCHEMA } from "../../../src/config/loader.js";

type Node = Record<string, unknown>;

/** Every object schema reachable in the file, with a readable location. */
function objectSchemas(node: unknown, at: string, out: [string, Node][] = []): [string, Node][] {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) objectSchemas(item, `${at}/${i}`, out);
  } else if (node !== null && typeof node === "object") {
    const schema = node as Node;
    if (schema.type === "object" || schema.properties) out.push([at, schema]);
    for (const [key, child] of Object.entries(schema)) {
      if (key !== "default" && key !== "enum" && key !== "const") objectSchemas(child, `${at}/${key}`, out);
    }
  }
  return out;
}

describe("config JSON Schema", () => {
  const objects = objectSchemas(CONFIG_SCHEMA, "#");

  it("closes every object to unknown keys", () => {
    // Closed, or a map whose values have a schema of their own (HTTP headers).
    const open = objects
      .filter(([, s]) => s.additionalProperties !== false && typeof s.additionalProperties !== "object")
      .map(([at]) => at);
    expect(open).toEqual([]);
  });

  it("describes every property, for editors", () => {
    const undocumented = objects.flatMap(([at, s]) =>
      Object.entries((s.properties ?? {}) as Record<string, Node>)
        .filter(([, p]) => typeof p.description !== "string" || p.description.length === 0)
        .map(([name]) => `${at}/properties/${name}`),
    );
    expect(undocumented).toEqual([]);
  });
});
