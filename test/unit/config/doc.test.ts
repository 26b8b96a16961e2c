import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderConfigDoc } from "../../../scripts/gen-config-doc.mjs";
import { CONFIG_SCHEMA } from "../../../src/config/loader.js";

const DOC = fileURLToPath(new URL("../../../docs/configuration.md", import.meta.url));
type Node = Record<string, unknown>;

/** [path of the object, key, property schema] for every key, following $ref and list items. */
function keys(
  root: Node,
  node: Node,
  path: string,
  out: [string, string, Node][] = [],
): [string, string, Node][] {
  const follow = (n: Node): Node => {
    const ref = n.$ref as string | undefined;
    if (!ref) return n;
    const { $ref: _, ...own } = n;
    return { ...(root.definitions as Record<string, Node>)[ref.split("/").pop()!], ...own };
  };
  for (const [key, raw] of Object.entries((node.properties ?? {}) as Record<string, Node>)) {
    if (path === "" && key === "$schema") continue;
    out.push([path, key, follow(raw)]);
    const s = follow(raw);
    const child = path ? `${path}.${key}` : key;
    if (s.properties) keys(root, s, child, out);
    const item = s.type === "array" && s.items ? follow(s.items as Node) : undefined;
    if (item?.properties) keys(root, item, `${child}[]`, out);
  }
  return out;
}

/** The doc's section for the object at `path` (the top-level table for ""). */
function section(doc: string, path: string): string {
  const title = path ? `\`${path}\`` : "Top-level keys";
  const start = doc.split("\n## ").find((s) => s.includes(`</a>${title}\n`));
  return start ?? "";
}

describe("docs/configuration.md", () => {
  const doc = readFileSync(DOC, "utf8");

  it("is what scripts/gen-config-doc.mjs makes of src/config/schema.json (run `npm run docs:config`)", () => {
    expect(doc, "docs/configuration.md is stale: run `npm run docs:config` and commit it").toBe(
      renderConfigDoc(CONFIG_SCHEMA),
    );
  });

  it("documents every key of the schema with its description and default in its object's table", () => {
    const all = keys(CONFIG_SCHEMA as Node, CONFIG_SCHEMA as Node, "");
    expect(all.length).toBeGreaterThan(40);
    const missing = all.filter(([path, key, s]) => {
      const row = section(doc, path)
        .split("\n")
        .find((l) => l.startsWith(`| \`${key}\` |`) || l.startsWith(`| [\`${key}\`](`));
      if (!row) return true;
      const description = String(s.description ?? "").replace(/\|/g, "\\|");
      const dflt = s.default;
      const shown = typeof dflt === "string" ? dflt : JSON.stringify(dflt);
      return (
        !row.includes(description) || (dflt !== undefined && !s.properties && !row.includes(`\`${shown}\``))
      );
    });
    expect(missing.map(([p, k]) => (p ? `${p}.${k}` : k))).toEqual([]);
  });

  it("documents a key added to the schema without any edit to the generator", () => {
    const schema = structuredClone(CONFIG_SCHEMA) as Node;
    (schema.properties as Record<string, Node>).authentication = {
      description: "Client authentication.",
      type: "object",
      additionalProperties: false,
      properties: {
        jwt: {
          description: "JSON Web Tokens.",
          type: "object",
          additionalProperties: false,
          properties: {
            jwks: {
              description: "Key sets.",
              type: "array",
              items: {
                type: "object",
                additionalProperties: false,
                required: ["url"],
                properties: {
                  url: { description: "JWKS endpoint.", type: "string", format: "uri" },
                  refresh_interval: {
                    description: "How often keys are re-read.",
                    $ref: "#/definitions/duration",
                    default: "1m",
                  },
                  algorithm: {
                    description: "Signature algorithm.",
                    enum: ["RS256", "ES256"],
                    default: "RS256",
                  },
                },
              },
            },
          },
        },
      },
    };
    const text = renderConfigDoc(schema);
    const jwks = section(text, "authentication.jwt.jwks[]");
    expect(section(text, "")).toContain("| [`authentication`](#authentication) | object |");
    expect(jwks).toContain("| `url` | string (URI) |  | **Required.** JWKS endpoint. |");
    expect(jwks).toContain(
      "| `refresh_interval` | [duration](#duration) | `1m` | How often keys are re-read. |",
    );
    expect(jwks).toContain('| `algorithm` | `"RS256"` \\| `"ES256"` | `RS256` | Signature algorithm. |');
  });
});
