/**
 * Normalises an event-driven subgraph so standard federation composition accepts it. As users
 * write it, its key fields are `@external` with no subgraph resolving them, which composers reject;
 * the event itself carries them, so we drop `@external`, strip the EDFS directives (already read
 * into the model) and make sure the federation v2 `@link` is there.
 */
import { type DefinitionNode, type DocumentNode, Kind, parse, visit } from "graphql";
import { EDFS_DEFINITIONS, EDFS_NAME } from "./directives.js";

const FEDERATION_LINK = parse(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.5",
  import: ["@key", "@external", "@shareable", "@inaccessible", "@tag", "@requires", "@provides",
           "@override", "@authenticated", "@requiresScopes"])`).definitions;

/** True when the document already links a federation spec. */
export function hasFederationLink(doc: DocumentNode): boolean {
  return doc.definitions.some(
    (d) =>
      (d.kind === Kind.SCHEMA_EXTENSION || d.kind === Kind.SCHEMA_DEFINITION) &&
      (d.directives ?? []).some(
        (dir) =>
          dir.name.value === "link" &&
          (dir.arguments ?? []).some(
            (a) => a.value.kind === Kind.STRING && a.value.value.includes("specs.apollo.dev/federation"),
          ),
      ),
  );
}

/** Adds the EDFS definitions the document omits (names already defined are kept as written). */
export function withEdfsDefinitions(doc: DocumentNode): DocumentNode {
  const defined = new Set<string>();
  for (const d of doc.definitions) if ("name" in d && d.name) defined.add(d.name.value);
  const missing = EDFS_DEFINITIONS.definitions.filter(
    (d) => "name" in d && d.name && !defined.has(d.name.value),
  );
  return { kind: Kind.DOCUMENT, definitions: [...doc.definitions, ...missing] };
}

/** The composable form of an event-driven subgraph. */
export function normalizeEventSubgraph(doc: DocumentNode): DocumentNode {
  const stripped = visit(doc, {
    DirectiveDefinition: (n) => (EDFS_NAME.test(n.name.value) ? null : undefined),
    InputObjectTypeDefinition: (n) => (EDFS_NAME.test(n.name.value) ? null : undefined),
    ScalarTypeDefinition: (n) => (EDFS_NAME.test(n.name.value) ? null : undefined),
    // edfs__PublishResult may be defined by several event-driven subgraphs; as a value type it
    // must be @shareable to compose. We re-add our own definition below.
    ObjectTypeDefinition: (n) => (n.name.value === "edfs__PublishResult" ? null : undefined),
    FieldDefinition: (n) => ({
      ...n,
      directives: (n.directives ?? []).filter(
        (d) => !EDFS_NAME.test(d.name.value) && d.name.value !== "external",
      ),
    }),
  });
  const extra: DefinitionNode[] = [];
  if (!hasFederationLink(stripped)) extra.push(...FEDERATION_LINK);
  if (usesPublishResult(doc)) {
    extra.push(
      ...parse(`type edfs__PublishResult @${shareableDirective(stripped)} { success: Boolean! }`).definitions,
    );
  }
  return { kind: Kind.DOCUMENT, definitions: [...extra, ...stripped.definitions] };
}

/**
 * How this document spells @shareable: the short name when its own federation @link imports it
 * (or it has none and gets ours), else the namespaced `federation__shareable`.
 */
export function shareableDirective(doc: DocumentNode): string {
  if (!hasFederationLink(doc)) return "shareable";
  let imported = false;
  visit(doc, {
    Directive: (d) => {
      if (d.name.value !== "link") return;
      for (const a of d.arguments ?? []) {
        if (a.name.value !== "import" || a.value.kind !== Kind.LIST) continue;
        for (const v of a.value.values) {
          if (v.kind === Kind.STRING && v.value === "@shareable") imported = true;
          if (
            v.kind === Kind.OBJECT &&
            v.fields.some((f) => f.value.kind === Kind.STRING && f.value.value === "@shareable")
          ) {
            imported = true;
          }
        }
      }
    },
  });
  return imported ? "shareable" : "federation__shareable";
}

function usesPublishResult(doc: DocumentNode): boolean {
  let used = false;
  visit(doc, {
    NamedType: (n) => {
      if (n.name.value === "edfs__PublishResult") used = true;
    },
  });
  return used;
}
