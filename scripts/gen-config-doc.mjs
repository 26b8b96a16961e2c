#!/usr/bin/env node
// Writes docs/configuration.md from src/config/schema.json: every key, its type, default and the
// schema's own description. The prose lives in the schema (descriptions are what editors show
// too), so a new key is documented by describing it there and re-running this script:
//
//   npm run docs:config           write docs/configuration.md
//   node scripts/gen-config-doc.mjs --check   exit 1 if the file is not what the schema gives
//
// test/unit/config/doc.test.ts runs --check, so the doc and the schema cannot drift.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SCHEMA = join(ROOT, "src/config/schema.json");
const DOC = join(ROOT, "docs/configuration.md");

/** `#/definitions/x` → x. */
const refName = (ref) => ref.split("/").pop();

/** A schema with its $ref followed; the referring node's own keys (description) win. */
function follow(root, node) {
  if (!node?.$ref) return { schema: node ?? {}, ref: undefined };
  const name = refName(node.$ref);
  const { $ref, ...own } = node;
  return { schema: { ...root.definitions[name], ...own }, ref: name };
}

/** Definitions that are value formats (not objects): linked from types, listed at the end. */
function formats(root) {
  return Object.entries(root.definitions ?? {}).filter(([, d]) => d.type !== "object" && !d.properties);
}

const isObject = (s) => s.type === "object" || s.properties !== undefined;
const code = (v) => `\`${v}\``;

function typeOf(root, node) {
  const { schema: s, ref } = follow(root, node);
  if (ref && !isObject(s)) return `[${ref}](#${ref})`;
  if (s.enum) return s.enum.map((v) => code(JSON.stringify(v))).join(" | ");
  if (s.const !== undefined) return code(JSON.stringify(s.const));
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives && !s.type && !s.properties) return alternatives.map((a) => typeOf(root, a)).join(" or ");
  if (s.type === "array") {
    const item = typeOf(root, s.items ?? {});
    return `list of ${item === "object" ? "objects" : item}`;
  }
  if (isObject(s)) return "object";
  const types = Array.isArray(s.type) ? s.type.join(" or ") : (s.type ?? "any");
  const bounds = [];
  if (s.minimum !== undefined) bounds.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) bounds.push(`≤ ${s.maximum}`);
  if (s.format === "uri") bounds.push("URI");
  if (s.minLength === 1) bounds.push("non-empty");
  return bounds.length ? `${types} (${bounds.join(", ")})` : types;
}

function defaultOf(s) {
  if (s.default === undefined) return "";
  if (isObject(s)) return ""; // an object's default is its keys' defaults
  const v = s.default;
  return code(typeof v === "string" ? v : JSON.stringify(v));
}

/** One line of table text: no pipes or line breaks from the description break the row. */
const cell = (text) => String(text ?? "").replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

/** The object schema that holds keys below `node` (itself, or a list's item), or undefined. */
function keysBelow(root, node) {
  const { schema: s } = follow(root, node);
  if (isObject(s) && s.properties) return { schema: s, suffix: "" };
  if (s.type === "array") {
    const item = follow(root, s.items ?? {}).schema;
    if (isObject(item) && item.properties) return { schema: item, suffix: "[]" };
  }
  return undefined;
}

const anchor = (path) => path.replace(/\[\]/g, "").replace(/[^A-Za-z0-9_]+/g, "-");

/** Sections depth first: one per object that has keys, each with a table of its own keys. */
function sections(root, path, schema, out) {
  const rows = [];
  const children = [];
  const required = new Set(schema.required ?? []);
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    if (path === "" && key === "$schema") continue; // an editor hint, described in the intro
    const { schema: s } = follow(root, node);
    const childPath = path ? `${path}.${key}` : key;
    const below = keysBelow(root, node);
    const name = below ? `[${code(key)}](#${anchor(childPath + below.suffix)})` : code(key);
    const description = (required.has(key) ? "**Required.** " : "") + (s.description ?? "");
    rows.push(`| ${name} | ${cell(typeOf(root, node))} | ${defaultOf(s)} | ${cell(description)} |`);
    if (below) children.push([childPath + below.suffix, below.schema]);
  }
  const alternatives = (schema.anyOf ?? [])
    .filter((a) => Array.isArray(a.required))
    .map((a) => a.required.map(code).join(" + "));
  const notes = [];
  if (alternatives.length) notes.push(`At least one of ${alternatives.join(", ")} must be set.`);
  if (schema.minProperties === 1 && schema.maxProperties === 1) notes.push("Exactly one key must be set.");
  out.push({ path, description: schema.description, notes, rows });
  for (const [p, s] of children) sections(root, p, s, out);
  return out;
}

/** The Markdown text of docs/configuration.md for `root` (the parsed JSON Schema). */
export function renderConfigDoc(root) {
  const lines = [
    "# Configuration reference",
    "",
    "<!-- Generated from src/config/schema.json by scripts/gen-config-doc.mjs: do not edit by hand.",
    "     Change the schema's descriptions and run `npm run docs:config`; a unit test fails on drift. -->",
    "",
    cell(root.description),
    "",
    "Run `streamgate --config <file>` (or set `STREAMGATE_CONFIG`); `--check-config` validates the",
    "file and every schema and lists each problem with its path. A commented example with every key:",
    "[config/streamgate.example.yaml](../config/streamgate.example.yaml). Editors complete and check",
    "the file from the JSON Schema [src/config/schema.json](../src/config/schema.json) (YAML: a",
    "`# yaml-language-server: $schema=…` first line; JSON: a `$schema` key, which the router ignores).",
    "",
    "Each table lists the keys of one object; a key that holds an object or a list of objects links",
    "to its own table. `[]` in a path is an item of a list. Value formats are at the end.",
    "",
  ];
  for (const s of sections(root, "", root, [])) {
    const title = s.path ? code(s.path) : "Top-level keys";
    lines.push(`## <a id="${s.path ? anchor(s.path) : "top-level-keys"}"></a>${title}`, "");
    if (s.path && s.description) lines.push(cell(s.description), "");
    for (const n of s.notes) lines.push(n, "");
    lines.push("| key | type | default | description |", "| --- | --- | --- | --- |", ...s.rows, "");
  }
  lines.push("## Value formats", "");
  for (const [name, d] of formats(root)) {
    lines.push(`### <a id="${name}"></a>${name}`, "", cell(d.description), "");
    if (d.pattern) lines.push(`Pattern: ${code(d.pattern)}`, "");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

function main() {
  const text = renderConfigDoc(JSON.parse(readFileSync(SCHEMA, "utf8")));
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(DOC, "utf8");
    } catch {
      // missing: reported below like any difference
    }
    if (current !== text) {
      process.stderr.write(
        "docs/configuration.md does not match src/config/schema.json: run `npm run docs:config` and commit it\n",
      );
      process.exit(1);
    }
    return;
  }
  writeFileSync(DOC, text);
  process.stdout.write(`wrote ${DOC}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
