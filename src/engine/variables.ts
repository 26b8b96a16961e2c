/** Variable coercion and root-field argument values for a planned operation. */
import { WireCode } from "../errors.js";
import {
  type GraphQLError,
  type GraphQLSchema,
  getArgumentValues,
  getVariableValues,
  type OperationDefinitionNode,
} from "graphql";
import type { PlanError, SubscriptionPlan } from "../planner/plan.js";

export type ArgsResult =
  | { ok: true; args: Record<string, unknown>; variables: Record<string, unknown> }
  | { ok: false; errors: PlanError[] };

function coerce(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  raw: Record<string, unknown> | null | undefined,
): { coerced: Record<string, unknown> } | { errors: readonly GraphQLError[] } {
  return getVariableValues(schema, operation.variableDefinitions ?? [], raw ?? {}, { maxErrors: 20 });
}

/** Coerces variables and computes the subscription root field's arguments. */
export function subscriptionArgs(
  schema: GraphQLSchema,
  plan: SubscriptionPlan,
  raw: Record<string, unknown> | null | undefined,
): ArgsResult {
  const result = coerce(schema, plan.operation, raw);
  if ("errors" in result) {
    return {
      ok: false,
      errors: result.errors.map((e) => ({
        message: e.message,
        extensions: { code: WireCode.BAD_USER_INPUT },
      })),
    };
  }
  const field = schema.getSubscriptionType()?.getFields()[plan.fieldName];
  if (!field) return { ok: false, errors: [{ message: `unknown field Subscription.${plan.fieldName}` }] };
  try {
    return {
      ok: true,
      args: getArgumentValues(field, plan.fieldNode, result.coerced),
      variables: result.coerced,
    };
  } catch (err) {
    return {
      ok: false,
      errors: [{ message: (err as Error).message, extensions: { code: WireCode.BAD_USER_INPUT } }],
    };
  }
}

/**
 * Deterministic JSON for group keys: object keys sorted so {a,b} and {b,a} share a group. Runs
 * once per subscribe (twice with claims), so it builds the text directly rather than through
 * arrays of keys and entries.
 */
export function stableJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) {
    let out = "[";
    for (let i = 0; i < v.length; i++) out += i === 0 ? stableJson(v[i]) : `,${stableJson(v[i])}`;
    return `${out}]`;
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length > 1) keys.sort();
  let out = "{";
  let first = true;
  for (const k of keys) {
    const x = obj[k];
    if (x === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(k)}:${stableJson(x)}`;
    first = false;
  }
  return `${out}}`;
}
