/**
 * Loads the subgraphs, validates event-driven ones, composes the supergraph and builds the public
 * schema operations run against. Every problem is collected; start-up fails once, listing all.
 */
import { readFile } from "node:fs/promises";
import {
  buildASTSchema,
  type DocumentNode,
  type GraphQLSchema,
  getNamedType,
  isObjectType,
  Kind,
  parse,
  print,
} from "graphql";
import { buildFederationModel, type FederationModel } from "../federation/model.js";
import { compose } from "./compose.js";
import { validateFilter } from "./filter-validate.js";
import type { SubgraphConfig } from "../config/types.js";
import type { ProviderKind } from "../providers/provider.js";
import { ErrorCode, errorMessage, StreamgateAggregateError, StreamgateError } from "../errors.js";
import { extractBindings } from "./directives.js";
import type { FieldBinding, RootFieldKey } from "./model.js";
import { normalizeEventSubgraph, shareableDirective } from "./normalize.js";
import { keyDirectives, keyFieldNames, subgraphSchema, validateEventSubgraph } from "./validate-edfs.js";

export interface LoadedSubgraph {
  readonly name: string;
  readonly routingUrl?: string;
  readonly eventDriven: boolean;
  readonly document: DocumentNode;
}

export interface Supergraph {
  /** The public API schema (no federation or EDFS artefacts). */
  readonly schema: GraphQLSchema;
  readonly supergraphSdl: string;
  /** Ownership of fields and keys per fetchable subgraph, from the supergraph's join directives. */
  readonly federation: FederationModel;
  readonly subgraphs: readonly LoadedSubgraph[];
  /** EDFS bindings of root fields, by "Subscription.field" etc. */
  readonly bindings: ReadonlyMap<RootFieldKey, FieldBinding>;
  /** Which subgraph owns each non-EDFS root field. */
  readonly rootOwners: ReadonlyMap<RootFieldKey, string>;
  /** Top-level key field names per entity type of the event-driven subgraphs. */
  readonly eventKeys: ReadonlyMap<string, readonly (readonly string[])[]>;
  /** Fields removed because they name an unknown provider (skip_unavailable_providers). */
  readonly dropped: readonly string[];
}

async function readSdl(sg: SubgraphConfig): Promise<string> {
  if (sg.schema !== undefined) return sg.schema;
  if (sg.schema_file !== undefined) return readFile(sg.schema_file, "utf8");
  if (sg.routing_url !== undefined) return fetchServiceSdl(sg.routing_url);
  throw new StreamgateError(ErrorCode.SCHEMA_READ, "has neither schema_file, schema nor routing_url");
}

/** Reads `_service { sdl }` from a running federation subgraph. */
async function fetchServiceSdl(url: string): Promise<string> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok)
    throw new StreamgateError(
      ErrorCode.SCHEMA_READ,
      `${url} answered HTTP ${res.status} to { _service { sdl } }`,
    );
  const body = (await res.json()) as { data?: { _service?: { sdl?: unknown } } };
  const sdl = body.data?._service?.sdl;
  if (typeof sdl !== "string")
    throw new StreamgateError(ErrorCode.SCHEMA_READ, `${url} returned no _service.sdl`);
  return sdl;
}

function where(sg: SubgraphConfig): string {
  return sg.schema_file ? `subgraph ${sg.name} (${sg.schema_file})` : `subgraph ${sg.name}`;
}

export interface LoadOptions {
  /** Configured provider ids and their kinds; when given, every binding must name one. */
  readonly providers?: ReadonlyMap<string, ProviderKind>;
  /** Drop fields naming an unknown provider (with a warning) instead of failing. */
  readonly skipUnknownProviders?: boolean;
}

/** Removes root fields from a document (and root types left empty). */
function dropRootFields(doc: DocumentNode, keys: ReadonlySet<string>): DocumentNode {
  const definitions = doc.definitions.flatMap((def) => {
    if ((def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) || !def.fields)
      return [def];
    const fields = def.fields.filter((f) => !keys.has(`${def.name.value}.${f.name.value}`));
    if (fields.length === def.fields.length) return [def];
    return fields.length === 0 ? [] : [{ ...def, fields }];
  });
  return { ...doc, definitions };
}

/** Loads, validates and composes. Throws StreamgateAggregateError listing every problem. */
export async function loadSupergraph(
  configs: readonly SubgraphConfig[],
  options: LoadOptions = {},
): Promise<Supergraph> {
  const dropped: string[] = [];
  let providerProblems = 0;
  const problems: string[] = [];
  if (configs.length === 0) problems.push("no subgraphs configured");
  const subgraphs: LoadedSubgraph[] = [];
  const bindings = new Map<RootFieldKey, FieldBinding>();
  const eventKeys = new Map<string, (readonly string[])[]>();
  for (const sg of configs) {
    let document: DocumentNode;
    try {
      document = parse(await readSdl(sg));
    } catch (err) {
      problems.push(`${where(sg)}: ${errorMessage(err)}`);
      continue;
    }
    const eventDriven = sg.routing_url === undefined;
    if (!eventDriven) {
      subgraphs.push({ name: sg.name, eventDriven, document, routingUrl: sg.routing_url! });
      continue;
    }
    const extraction = extractBindings(document, where(sg));
    problems.push(...extraction.problems);
    problems.push(...validateEventSubgraph(sg.name, document, extraction.fields, extraction.unbound));
    const drop = new Set<string>();
    for (const { key, binding } of extraction.fields) {
      const kind = options.providers?.get(binding.providerId);
      if (!options.providers || kind === binding.provider) continue;
      const why = kind
        ? `providerId "${binding.providerId}" is a ${kind} provider, @${binding.provider} directives need a ${binding.provider} one`
        : `providerId "${binding.providerId}" names no configured ${binding.provider} provider`;
      if (options.skipUnknownProviders && !kind) {
        drop.add(key);
        dropped.push(`${where(sg)}: ${key} dropped: ${why}`);
      } else {
        problems.push(`${where(sg)}: ${key}: ${why}`);
        providerProblems++;
      }
    }
    subgraphs.push({
      name: sg.name,
      eventDriven,
      document: drop.size > 0 ? dropRootFields(document, drop) : document,
    });
    for (const { key, binding } of extraction.fields) {
      if (drop.has(key)) continue;
      if (bindings.has(key))
        problems.push(`${where(sg)}: ${key} is bound by another event-driven subgraph too`);
      bindings.set(key, binding);
    }
    try {
      for (const type of Object.values(subgraphSchema(document).getTypeMap())) {
        if (!isObjectType(type)) continue;
        const keys = keyDirectives(type).map((k) => keyFieldNames(k.fields));
        if (keys.length > 0) eventKeys.set(type.name, [...(eventKeys.get(type.name) ?? []), ...keys]);
      }
    } catch {
      // Already reported by validateEventSubgraph.
    }
  }
  if (problems.length > 0) {
    const onlyProviders = problems.length === providerProblems;
    throw new StreamgateAggregateError(
      onlyProviders ? ErrorCode.PROVIDER_UNKNOWN : ErrorCode.SCHEMA_EDFS,
      onlyProviders ? "unknown providers in the schema" : "invalid schema",
      problems,
    );
  }

  const services = subgraphs.map((s) => ({
    name: s.name,
    url: s.routingUrl ?? "",
    typeDefs: s.eventDriven ? normalizeEventSubgraph(s.document) : s.document,
  }));
  // GraphQL needs a query root; a graph of subscriptions only gets a placeholder field.
  const first = services[0];
  if (first && !subgraphs.some((s) => definesQuery(s.document))) {
    first.typeDefs = {
      ...first.typeDefs,
      definitions: [...first.typeDefs.definitions, ...placeholderQuery(shareableDirective(first.typeDefs))],
    };
  }
  const result = await compose(services.map((s) => ({ name: s.name, url: s.url, sdl: print(s.typeDefs) })));
  if (!result.ok)
    throw new StreamgateAggregateError(ErrorCode.SCHEMA_COMPOSITION, "composition failed", result.errors);
  const schema = buildASTSchema(parse(result.publicSdl));
  const filterProblems = validateFilters(schema, bindings);
  if (filterProblems.length > 0) {
    throw new StreamgateAggregateError(ErrorCode.SCHEMA_EDFS, "invalid subscription filters", filterProblems);
  }
  return {
    schema,
    supergraphSdl: result.supergraphSdl,
    federation: buildFederationModel(parse(result.supergraphSdl)),
    subgraphs,
    bindings,
    rootOwners: rootFieldOwners(subgraphs, bindings),
    dropped,
    eventKeys,
  };
}

/** Field added when no subgraph has a Query type; it answers with the router's name. */
export const PLACEHOLDER_QUERY_FIELD = "_streamgate";
function placeholderQuery(shareable: string) {
  return parse(`
  type Query {
    "Present because no subgraph defines a Query type (GraphQL requires one). Returns \\"streamgate\\"."
    ${PLACEHOLDER_QUERY_FIELD}: String! @${shareable}
  }
`).definitions;
}

function validateFilters(schema: GraphQLSchema, bindings: ReadonlyMap<RootFieldKey, FieldBinding>): string[] {
  const problems: string[] = [];
  for (const [key, b] of bindings) {
    if (b.kind !== "subscribe" || !b.filter) continue;
    const field = schema.getSubscriptionType()?.getFields()[key.slice("Subscription.".length)];
    if (!field) continue;
    for (const p of validateFilter(b.filter, field, getNamedType(field.type), schema))
      problems.push(`${key}: ${p}`);
  }
  return problems;
}

function definesQuery(doc: DocumentNode): boolean {
  return doc.definitions.some(
    (d) =>
      (d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION) &&
      d.name.value === "Query",
  );
}

function rootFieldOwners(
  subgraphs: readonly LoadedSubgraph[],
  bindings: ReadonlyMap<RootFieldKey, FieldBinding>,
): Map<RootFieldKey, string> {
  const owners = new Map<RootFieldKey, string>();
  for (const sg of subgraphs) {
    if (sg.eventDriven) continue;
    let schema: GraphQLSchema;
    try {
      schema = subgraphSchema(sg.document);
    } catch {
      continue;
    }
    for (const [rootName, root] of [
      ["Query", schema.getQueryType()],
      ["Mutation", schema.getMutationType()],
      ["Subscription", schema.getSubscriptionType()],
    ] as const) {
      for (const f of Object.keys(root?.getFields() ?? {})) {
        const key = `${rootName}.${f}` as RootFieldKey;
        if (!bindings.has(key) && !f.startsWith("_")) owners.set(key, sg.name);
      }
    }
  }
  return owners;
}
