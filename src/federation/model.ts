/**
 * Who owns what, read from the composed supergraph's `@join__*` directives: each subgraph's URL,
 * the resolvable keys of each entity per subgraph, and which subgraphs resolve each field.
 * Event-driven subgraphs (no URL) never appear as owners: nothing can be fetched from them.
 */
import { type DocumentNode, Kind, type ConstDirectiveNode, valueFromASTUntyped } from "graphql";
import { keyFieldNames } from "../schema/validate-edfs.js";

export interface SubgraphEndpoint {
  readonly name: string;
  readonly url: string;
}

export interface FederationModel {
  readonly subgraphs: ReadonlyMap<string, SubgraphEndpoint>;
  /** Subgraphs that resolve `type.field` (fetchable ones only). */
  owners(typeName: string, fieldName: string): readonly string[];
  /** Resolvable key field sets of `type` in `subgraph` (top-level names per key). */
  keys(typeName: string, subgraph: string): readonly (readonly string[])[];
}

function args(d: ConstDirectiveNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of d.arguments ?? []) {
    // graph: EMPLOYEES is an enum value; keep its name.
    out[a.name.value] = a.value.kind === Kind.ENUM ? a.value.value : valueFromASTUntyped(a.value);
  }
  return out;
}

export function buildFederationModel(supergraph: DocumentNode): FederationModel {
  const graphs = new Map<string, SubgraphEndpoint>(); // enum value -> endpoint
  const typeGraphs = new Map<string, string[]>(); // type -> enum values (join__type)
  const keys = new Map<string, Map<string, string[][]>>(); // type -> subgraph name -> keys
  const fieldOwners = new Map<string, string[]>(); // "T.f" -> subgraph names

  for (const def of supergraph.definitions) {
    if (def.kind === Kind.ENUM_TYPE_DEFINITION && def.name.value === "join__Graph") {
      for (const v of def.values ?? []) {
        const d = v.directives?.find((x) => x.name.value === "join__graph");
        if (!d) continue;
        const a = args(d);
        graphs.set(v.name.value, { name: String(a.name), url: String(a.url ?? "") });
      }
    }
  }
  const fetchable = (enumValue: string): string | undefined => {
    const g = graphs.get(enumValue);
    return g && g.url !== "" ? g.name : undefined;
  };

  for (const def of supergraph.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    const typeName = def.name.value;
    const inType: string[] = [];
    const typeKeys = new Map<string, string[][]>();
    for (const d of def.directives ?? []) {
      if (d.name.value !== "join__type") continue;
      const a = args(d);
      const graph = String(a.graph);
      inType.push(graph);
      const name = fetchable(graph);
      if (name && typeof a.key === "string" && a.resolvable !== false) {
        typeKeys.set(name, [...(typeKeys.get(name) ?? []), keyFieldNames(a.key)]);
      }
    }
    typeGraphs.set(typeName, inType);
    keys.set(typeName, typeKeys);
    for (const field of def.fields ?? []) {
      const joins = (field.directives ?? []).filter((d) => d.name.value === "join__field").map(args);
      const owners =
        joins.length === 0
          ? inType.flatMap((g) => fetchable(g) ?? [])
          : joins
              .filter((j) => j.graph !== undefined && j.external !== true)
              .flatMap((j) => fetchable(String(j.graph)) ?? []);
      fieldOwners.set(`${typeName}.${field.name.value}`, [...new Set(owners)]);
    }
  }

  const byName = new Map([...graphs.values()].filter((g) => g.url !== "").map((g) => [g.name, g]));
  return {
    subgraphs: byName,
    owners: (t, f) => fieldOwners.get(`${t}.${f}`) ?? [],
    keys: (t, s) => keys.get(t)?.get(s) ?? [],
  };
}
