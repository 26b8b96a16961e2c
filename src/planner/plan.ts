/**
 * Operation → plan, once per distinct document (LRU). A plan knows its root field, its EDFS
 * binding and a graphql-jit compiled function that shapes an event (or a resolved root value)
 * into the client's response. Pure: no I/O here.
 */
import { ErrorCode, StreamgateError, WireCode, type ErrorCodeValue, type WireCodeValue } from "../errors.js";
import {
  type DocumentNode,
  type FieldNode,
  GraphQLError,
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
import type { CompiledQuery } from "graphql-jit";
import { LRUCache } from "lru-cache";
import { DistinctArgumentsPerFieldRule } from "./argument-variants.js";
import type { FieldBinding, RootFieldKey, SubscribeBinding } from "../schema/model.js";
import { type LimitName, limitError } from "../security/limits.js";
import { checkOperationLimits, type OperationLimits } from "./operation-limits.js";
import { jit, jitLoaded } from "./jit.js";

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

export type PlanResult =
  | { ok: true; plan: Plan }
  /** `limit` is set when a configured limit refused the document (counted on every use). */
  | { ok: false; errors: readonly PlanError[]; limit?: LimitName };

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
  /** Depth, aliases and root fields (limits.max_operation_*); unlimited when absent. */
  readonly operationLimits?: OperationLimits;
  /** Told of every plan refused by a limit, cached or not. */
  readonly onLimit?: (limit: LimitName) => void;
}

/** A document that parsed, validated and names one operation: what compiling starts from. */
interface Checked {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
}

const UNLIMITED: OperationLimits = { maxDepth: Infinity, maxAliases: Infinity, maxRootFields: Infinity };

const RULES = [...specifiedRules, DistinctArgumentsPerFieldRule];

/** Parses, validates and compiles operations against one schema, caching by document text. */
export class Planner {
  private readonly cache: LRUCache<string, PlanResult>;
  private readonly maxDocumentSize: number;
  private readonly operationLimits: OperationLimits;
  private readonly onLimit: ((limit: LimitName) => void) | undefined;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly bindings: ReadonlyMap<RootFieldKey, FieldBinding>,
    options: PlannerOptions = {},
  ) {
    this.cache = new LRUCache({ max: options.cacheSize ?? 1000 });
    this.maxDocumentSize = options.maxDocumentSize ?? 100_000;
    this.operationLimits = options.operationLimits ?? UNLIMITED;
    this.onLimit = options.onLimit;
  }

  /** Plans `query` (selecting `operationName` when given). Never throws on client input. */
  plan(query: string, operationName?: string | null): PlanResult {
    const result = this.cached(query, operationName);
    if (!result.ok && result.limit) this.onLimit?.(result.limit);
    return result;
  }

  /**
   * The operation kind of `query`, or undefined when it does not plan. Plans (and caches) like
   * plan() but is not a use: a refusal is counted when the operation runs, not when a transport
   * looks at it first.
   */
  kindOf(query: string, operationName?: string | null): Plan["kind"] | undefined {
    if (!jitLoaded()) {
      // Before the first operation graphql-jit is not loaded yet (src/planner/jit.ts): answer from
      // parsing and validation alone, uncached; the operation itself then waits for the load.
      const checked = this.guarded(() => this.check(query, operationName ?? undefined));
      return "operation" in checked ? checked.operation.operation : undefined;
    }
    const result = this.cached(query, operationName);
    return result.ok ? result.plan.kind : undefined;
  }

  private cached(query: string, operationName: string | null | undefined): PlanResult {
    const key = operationName ? `${operationName}\u0000${query}` : query;
    let result = this.cache.get(key);
    if (!result) {
      // Not client input: the engine awaits loadJit() before it plans (src/planner/jit.ts).
      if (!jitLoaded())
        throw new StreamgateError(ErrorCode.INTERNAL, "Planner.plan() before loadJit() resolved");
      result = this.guarded(() => this.build(query, operationName ?? undefined));
      this.cache.set(key, result);
    }
    return result;
  }

  get cachedPlans(): number {
    return this.cache.size;
  }

  /** Never throws: whatever a library throws on a hostile document becomes an error result. */
  private guarded<T>(run: () => T | PlanResult): T | PlanResult {
    try {
      return run();
    } catch (err) {
      // graphql-js parses and validates recursively: a document nested past the stack throws
      // RangeError. Nothing else is expected here; either way the client gets an error, not a crash.
      if (err instanceof RangeError)
        return fail("the document is nested too deeply", WireCode.GRAPHQL_PARSE_FAILED);
      return fail("the operation could not be planned", WireCode.INTERNAL_SERVER_ERROR);
    }
  }

  /** Size, syntax, limits, validation and the operation to run: everything but compiling. */
  private check(query: string, operationName: string | undefined): Checked | PlanResult {
    if (query.length > this.maxDocumentSize) {
      return refuse("max_message_size", `operation is larger than ${this.maxDocumentSize} characters`);
    }
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: 10_000 });
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err;
      return { ok: false, errors: toPlanErrors([err]) };
    }
    const violation = checkOperationLimits(document, this.operationLimits);
    if (violation) return refuse(violation.limit, violation.message);
    const validationErrors = validate(this.schema, document, RULES, { maxErrors: 20 });
    if (validationErrors.length > 0) return { ok: false, errors: toPlanErrors(validationErrors) };
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      return fail(
        operationName ? `unknown operation "${operationName}"` : "operationName is required",
        WireCode.BAD_REQUEST,
      );
    }
    return { document, operation };
  }

  private build(query: string, operationName: string | undefined): PlanResult {
    const checked = this.check(query, operationName);
    if (!("operation" in checked)) return checked;
    const { document, operation } = checked;
    const { compileQuery, isCompiledQuery } = jit();
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

function refuse(limit: LimitName, message: string): PlanResult {
  return { ok: false, errors: [limitError(limit, message)], limit };
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
