/**
 * `@authenticated` and `@requiresScopes` (federation v2.5; Cosmo's `openfed__Scope` and
 * `federation__Scope` spell the same directive). Read once from the composed supergraph, where
 * composition keeps them on fields and types; an operation's requirements are collected once per
 * distinct document (cached with its plan) and checked once per operation, never per event.
 * Pure: no I/O.
 */
import {
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";
import type { AuthInfo } from "../engine/types.js";
import { type ClientError, clientError, WireCode } from "../errors.js";
import { scopesOf } from "./scopes.js";

/** What a field or type asks of the caller. */
export interface Requirement {
  readonly authenticated: boolean;
  /** Any one inner list, all of whose scopes the token has, satisfies it (OR of ANDs). */
  readonly scopes?: readonly (readonly string[])[];
}

/** One requirement an operation touches: where (the first path that reaches it) and what. */
export interface Touched {
  readonly coordinate: string;
  readonly path: readonly string[];
  readonly requirement: Requirement;
}

const AUTHENTICATED = /^(federation__)?authenticated$/;
const REQUIRES_SCOPES = /^(federation__)?requiresScopes$/;

function scopesArgument(d: DirectiveNode): string[][] {
  const arg = d.arguments?.find((a) => a.name.value === "scopes")?.value;
  const strings = (v: ValueNode): string[] =>
    v.kind === Kind.LIST ? v.values.flatMap(strings) : v.kind === Kind.STRING ? [v.value] : [];
  if (arg?.kind !== Kind.LIST) return [];
  return arg.values.map((inner) => strings(inner));
}

function requirementOf(directives: readonly DirectiveNode[] | undefined): Requirement | undefined {
  let authenticated = false;
  let scopes: string[][] | undefined;
  for (const d of directives ?? []) {
    if (AUTHENTICATED.test(d.name.value)) authenticated = true;
    if (REQUIRES_SCOPES.test(d.name.value)) scopes = [...(scopes ?? []), ...scopesArgument(d)];
  }
  if (!authenticated && !scopes) return undefined;
  // A scope requirement implies a token.
  return { authenticated: true, ...(scopes ? { scopes } : {}) };
}

/** Where the supergraph puts access requirements. */
export class AccessModel {
  private constructor(
    private readonly fields: ReadonlyMap<string, Requirement>,
    private readonly types: ReadonlyMap<string, Requirement>,
  ) {}

  /** Reads the directives off a composed supergraph SDL. */
  static fromSupergraph(supergraphSdl: string): AccessModel {
    const fields = new Map<string, Requirement>();
    const types = new Map<string, Requirement>();
    for (const def of parse(supergraphSdl).definitions) {
      if (!("name" in def) || !def.name || !("directives" in def)) continue;
      const typeName = def.name.value;
      if (
        def.kind === Kind.OBJECT_TYPE_DEFINITION ||
        def.kind === Kind.INTERFACE_TYPE_DEFINITION ||
        def.kind === Kind.SCALAR_TYPE_DEFINITION ||
        def.kind === Kind.ENUM_TYPE_DEFINITION ||
        def.kind === Kind.OBJECT_TYPE_EXTENSION ||
        def.kind === Kind.INTERFACE_TYPE_EXTENSION
      ) {
        const r = requirementOf(def.directives);
        if (r) types.set(typeName, r);
      }
      if ("fields" in def && Array.isArray(def.fields)) {
        for (const f of def.fields as readonly {
          name: { value: string };
          directives?: readonly DirectiveNode[];
        }[]) {
          const r = requirementOf(f.directives);
          if (r) fields.set(`${typeName}.${f.name.value}`, r);
        }
      }
    }
    return new AccessModel(fields, types);
  }

  /** No directive anywhere: nothing to check, ever. */
  get empty(): boolean {
    return this.fields.size === 0 && this.types.size === 0;
  }

  /** Every requirement `operation` touches, deduplicated by coordinate. */
  touchedBy(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): Touched[] {
    if (this.empty) return [];
    const root =
      operation.operation === "query"
        ? schema.getQueryType()
        : operation.operation === "mutation"
          ? schema.getMutationType()
          : schema.getSubscriptionType();
    if (!root) return [];
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of document.definitions)
      if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const out = new Map<string, Touched>();
    const add = (coordinate: string, requirement: Requirement | undefined, path: readonly string[]) => {
      if (requirement && !out.has(coordinate)) out.set(coordinate, { coordinate, path, requirement });
    };
    const walk = (
      type: GraphQLNamedType,
      set: SelectionSetNode,
      path: readonly string[],
      seen: Set<string>,
    ) => {
      add(type.name, this.types.get(type.name), path);
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD)
          this.field(schema, type, sel, path, add, (t, s, p) => walk(t, s, p, seen));
        else if (sel.kind === Kind.INLINE_FRAGMENT) {
          const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
          if (t) walk(t, sel.selectionSet, path, seen);
        } else {
          const frag = fragments.get(sel.name.value);
          if (!frag || seen.has(frag.name.value)) continue;
          const t = schema.getType(frag.typeCondition.name.value);
          if (t) walk(t, frag.selectionSet, path, new Set([...seen, frag.name.value]));
        }
      }
    };
    walk(root, operation.selectionSet, [], new Set());
    return [...out.values()];
  }

  private field(
    schema: GraphQLSchema,
    parent: GraphQLNamedType,
    node: FieldNode,
    path: readonly string[],
    add: (coordinate: string, r: Requirement | undefined, path: readonly string[]) => void,
    walk: (t: GraphQLNamedType, s: SelectionSetNode, p: readonly string[]) => void,
  ): void {
    const name = node.name.value;
    if (name.startsWith("__") || !(isObjectType(parent) || isInterfaceType(parent))) return;
    const def = parent.getFields()[name];
    if (!def) return;
    const here = [...path, node.alias?.value ?? name];
    add(`${parent.name}.${name}`, this.fields.get(`${parent.name}.${name}`), here);
    // Through an interface, what any implementation requires of the field applies too.
    if (isAbstractType(parent)) {
      for (const t of schema.getPossibleTypes(parent))
        add(`${t.name}.${name}`, this.fields.get(`${t.name}.${name}`), here);
    }
    const type = getNamedType(def.type);
    add(type.name, this.types.get(type.name), here);
    if (node.selectionSet) walk(type, node.selectionSet, here);
  }
}

/** Whether `auth` satisfies `r`. */
export function satisfies(r: Requirement, auth: AuthInfo | null): boolean {
  if (r.authenticated && !auth) return false;
  if (!r.scopes) return true;
  const have = scopesOf(auth);
  return r.scopes.some((all) => all.every((s) => have.has(s)));
}

/** The errors for every requirement `auth` does not meet (empty: allowed). */
export function deniedErrors(touched: readonly Touched[], auth: AuthInfo | null): ClientError[] {
  const errors: ClientError[] = [];
  for (const t of touched) {
    if (satisfies(t.requirement, auth)) continue;
    const why = auth ? "the token lacks the required scopes" : "authentication is required";
    errors.push({
      ...clientError(WireCode.UNAUTHORIZED_FIELD_OR_TYPE, `not authorized to access ${t.coordinate}: ${why}`),
      path: t.path,
    });
  }
  return errors;
}
