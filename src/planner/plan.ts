/**
 * Operation → plan, once per distinct document (LRU). A plan knows its root field, its EDFS
 * binding and a graphql-jit compiled function that shapes an event (or a resolved root value)
 * into the client's response. Pure: no I/O here.
 */
import { ErrorCode, WireCode, type ErrorCodeValue, type WireCodeValue } from "../errors.js";
import {
  type DocumentNode,
  type FieldNode,
  type GraphQLError,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
  specifiedRules,
  validate,
} from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import { LRUCache } from "lru-cache";
import { DistinctArgumentsPerFieldRule } from "./argument-variants.js";
import type { FieldBinding, RootFieldKey, SubscribeBinding } from "../schema/model.js";

export interface PlanError {
  readonly [key: string]: unknown;
  readonly message: string;
  readonly locations?: readonly { line: number; column: number }[];
  readonly extensions?: Readonly<Record<string, unknown>>;
}

interface BasePlan {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly compiled: CompiledQuery;
}

export interface SubscriptionPlan extends BasePlan {
  readonly kind: "subscription";
  /** Schema field name of the single root field. */
  readonly fieldName: string;
  readonly fieldNode: FieldNode;
  readonly binding: SubscribeBinding;
  /** Set when the field returns one object type: events without __typename get it filled in. */
  readonly singleTypeName?: string;
}

export interface OperationPlan extends BasePlan {
  readonly kind: "query" | "mutation";
}

export type Plan = SubscriptionPlan | OperationPlan;

export type PlanResult = { ok: true; plan: Plan } | { ok: false; errors: readonly PlanError[] };

function toPlanErrors(errors: readonly GraphQLError[]): PlanError[] {
  return errors.map((e) => ({
    message: e.message,
    ...(e.locations ? { locations: e.locations.map((l) => ({ line: l.line, column: l.column })) } : {}),
    extensions: { code: (e.extensions?.code as string | undefined) ?? WireCode.GRAPHQL_VALIDATION_FAILED },
  }));
}

export interface PlannerOptions {
  readonly cacheSize?: number;
  /** Largest accepted document, in characters. */
  readonly maxDocumentSize?: number;
}

const RULES = [...specifiedRules, DistinctArgumentsPerFieldRule];

/** Parses, validates and compiles operations against one schema, caching by document text. */
export class Planner {
  private readonly cache: LRUCache<string, PlanResult>;
  private readonly maxDocumentSize: number;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly bindings: ReadonlyMap<RootFieldKey, FieldBinding>,
    options: PlannerOptions = {},
  ) {
    this.cache = new LRUCache({ max: options.cacheSize ?? 1000 });
    this.maxDocumentSize = options.maxDocumentSize ?? 100_000;
  }

  /** Plans `query` (selecting `operationName` when given). Never throws on client input. */
  plan(query: string, operationName?: string | null): PlanResult {
    const key = operationName ? `${operationName}\u0000${query}` : query;
    let result = this.cache.get(key);
    if (!result) {
      result = this.build(query, operationName ?? undefined);
      this.cache.set(key, result);
    }
    return result;
  }

  get cachedPlans(): number {
    return this.cache.size;
  }

  private build(query: string, operationName: string | undefined): PlanResult {
    if (query.length > this.maxDocumentSize) {
      return fail(`operation is larger than ${this.maxDocumentSize} characters`, ErrorCode.LIMIT_EXCEEDED);
    }
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: 10_000 });
    } catch (err) {
      return { ok: false, errors: toPlanErrors([err as GraphQLError]) };
    }
    const validationErrors = validate(this.schema, document, RULES, { maxErrors: 20 });
    if (validationErrors.length > 0) return { ok: false, errors: toPlanErrors(validationErrors) };
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      return fail(
        operationName ? `unknown operation "${operationName}"` : "operationName is required",
        WireCode.BAD_REQUEST,
      );
    }
    const compiled = compileQuery(this.schema, document, operation.name?.value);
    if (!isCompiledQuery(compiled)) {
      return { ok: false, errors: toPlanErrors((compiled.errors ?? []) as GraphQLError[]) };
    }
    if (operation.operation !== "subscription") {
      return { ok: true, plan: { kind: operation.operation, document, operation, compiled } };
    }
    return this.subscriptionPlan(document, operation, compiled);
  }

  private subscriptionPlan(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    compiled: CompiledQuery,
  ): PlanResult {
    // Validation (SingleFieldSubscriptionsRule) guarantees exactly one root field, possibly behind
    // fragments; find it.
    const fieldNode = firstRootField(document, operation);
    if (!fieldNode) return fail("subscription has no root field", WireCode.BAD_REQUEST);
    const fieldName = fieldNode.name.value;
    const binding = this.bindings.get(`Subscription.${fieldName}`);
    if (binding?.kind !== "subscribe") {
      return fail(
        `Subscription.${fieldName} is not bound to an event source`,
        ErrorCode.OPERATION_UNSUPPORTED,
      );
    }
    const field = this.schema.getSubscriptionType()?.getFields()[fieldName];
    const named = field ? getNamedType(field.type) : undefined;
    const singleTypeName = named && isObjectType(named) ? named.name : undefined;
    return {
      ok: true,
      plan: {
        kind: "subscription",
        document,
        operation,
        compiled,
        fieldName,
        fieldNode,
        binding,
        ...(singleTypeName ? { singleTypeName } : {}),
      },
    };
  }
}

function fail(message: string, code: ErrorCodeValue | WireCodeValue): PlanResult {
  return { ok: false, errors: [{ message, extensions: { code } }] };
}

function firstRootField(document: DocumentNode, operation: OperationDefinitionNode): FieldNode | undefined {
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [],
    ),
  );
  const stack = [...operation.selectionSet.selections];
  while (stack.length > 0) {
    const s = stack.shift()!;
    if (s.kind === Kind.FIELD) {
      if (s.name.value !== "__typename") return s;
    } else if (s.kind === Kind.INLINE_FRAGMENT) {
      stack.unshift(...s.selectionSet.selections);
    } else {
      const frag = fragments.get(s.name.value);
      if (frag) stack.unshift(...frag.selectionSet.selections);
    }
  }
  return undefined;
}
