/**
 * Whether an operation may run for a caller, decided once per operation (never per event): the
 * `@authenticated` / `@requiresScopes` requirements it touches, then the rate limits (subscribe
 * operations; publish mutations, one token per publish field). What an operation touches is
 * worked out once per distinct plan and kept beside it.
 */
import type { GraphQLSchema } from "graphql";
import { clientError, ErrorCode } from "../errors.js";
import type { Plan, PlanError } from "../planner/plan.js";
import type { FieldBinding, RootFieldKey } from "../schema/model.js";
import { AccessModel, deniedErrors, type Touched } from "../security/access.js";
import type { Security } from "../security/security.js";
import type { RequestContext } from "./types.js";

interface PlanFacts {
  readonly touched: readonly Touched[];
  /** Root fields bound to a publish directive (mutations only). */
  readonly publishes: number;
}

export class Admission {
  private readonly access: AccessModel;
  private readonly facts = new WeakMap<Plan, PlanFacts>();

  constructor(
    supergraphSdl: string,
    private readonly schema: GraphQLSchema,
    private readonly bindings: ReadonlyMap<RootFieldKey, FieldBinding>,
    private readonly security: Pick<Security, "limiters" | "stats"> | undefined,
  ) {
    this.access = AccessModel.fromSupergraph(supergraphSdl);
  }

  /** Errors refusing `plan` for `ctx`, or undefined when it may run. */
  check(plan: Plan, ctx: RequestContext): readonly PlanError[] | undefined {
    const limiters = this.security?.limiters;
    if (this.access.empty && !limiters?.subscribe && !limiters?.publish) return undefined;
    const facts = this.factsOf(plan);
    const denied = deniedErrors(facts.touched, ctx.auth);
    if (denied.length > 0) {
      if (this.security) this.security.stats.denied++;
      return denied;
    }
    const kind =
      plan.kind === "subscription" ? "subscribe" : plan.kind === "mutation" ? "publish" : undefined;
    const limiter = kind ? limiters?.[kind] : undefined;
    if (!kind || !limiter || (kind === "publish" && facts.publishes === 0)) return undefined;
    let wait: number | undefined;
    for (let i = 0; i < (kind === "publish" ? facts.publishes : 1) && wait === undefined; i++)
      wait = limiter.take(ctx);
    if (wait === undefined) return undefined;
    this.security!.stats.rateLimited[kind]++;
    return [
      clientError(ErrorCode.RATE_LIMITED, `rate limit exceeded for ${kind}: retry in ${wait}s`, {
        retryAfter: wait,
      }),
    ];
  }

  private factsOf(plan: Plan): PlanFacts {
    let f = this.facts.get(plan);
    if (!f) {
      f = {
        touched: this.access.touchedBy(this.schema, plan.document, plan.operation),
        publishes:
          plan.kind === "mutation"
            ? plan.operation.selectionSet.selections.filter(
                (s) =>
                  s.kind === "Field" && this.bindings.get(`Mutation.${s.name.value}`)?.kind === "publish",
              ).length
            : 0,
      };
      this.facts.set(plan, f);
    }
    return f;
  }
}
