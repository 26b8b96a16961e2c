/** The `@openfed__subscriptionFilter`s of a loaded schema fixture, checked and compiled. */
import { getNamedType } from "graphql";
import { compileFilter, fieldTypeResolver } from "../../src/planner/filter.js";
import { validateFilter } from "../../src/schema/filter-validate.js";
import type { SubscribeBinding } from "../../src/schema/model.js";
import type { Supergraph } from "../../src/schema/supergraph.js";

export interface FixtureFilters {
  /** Subscription fields that have a filter. */
  readonly fields: readonly string[];
  /** [field, validateFilter's problems] for each of them. */
  problems(): [string, readonly string[]][];
  /** Whether field `name`'s filter, given `args` (as GraphQL coerces them), keeps `event`. */
  keeps(name: string, args: Record<string, unknown>, event: Record<string, unknown>): boolean;
}

export function fixtureFilters(sg: Supergraph): FixtureFilters {
  const filterOf = (name: string) => {
    const field = sg.schema.getSubscriptionType()!.getFields()[name]!;
    const binding = sg.bindings.get(`Subscription.${name}`) as SubscribeBinding;
    return { field, returnType: getNamedType(field.type), filter: binding.filter! };
  };
  const fields = [...sg.bindings]
    .filter(([k, b]) => k.startsWith("Subscription.") && b.kind === "subscribe" && b.filter)
    .map(([k]) => k.slice("Subscription.".length));
  return {
    fields,
    problems: () =>
      fields.map((name) => {
        const { field, returnType, filter } = filterOf(name);
        return [name, validateFilter(filter, field, returnType, sg.schema)];
      }),
    keeps: (name, args, event) => {
      const { returnType, filter } = filterOf(name);
      const pred = compileFilter(filter, { args }, fieldTypeResolver(sg.schema, returnType.name));
      return pred({ __typename: returnType.name, ...event });
    },
  };
}
