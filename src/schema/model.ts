/**
 * The EDFS model: what each root field of an event-driven subgraph is bound to. Extracted from
 * the subgraph SDL before composition (composition drops custom directives).
 */
import type { ProviderKind } from "../providers/provider.js";
import type { Template } from "./template.js";

export interface StreamConfiguration {
  readonly consumerName: string;
  readonly streamName: string;
  /** seconds */
  readonly consumerInactiveThreshold: number;
}

/** A filter condition as written in `@openfed__subscriptionFilter` (evaluated by src/planner). */
export type FilterCondition =
  | { readonly AND: readonly FilterCondition[] }
  | { readonly OR: readonly FilterCondition[] }
  | { readonly NOT: FilterCondition }
  | { readonly IN: { readonly fieldPath: string; readonly values: readonly unknown[] } };

export interface SubscribeBinding {
  readonly kind: "subscribe";
  readonly provider: ProviderKind;
  readonly providerId: string;
  readonly topics: readonly Template[];
  readonly streamConfiguration?: StreamConfiguration;
  readonly filter?: FilterCondition;
}

export interface PublishBinding {
  readonly kind: "publish";
  readonly provider: ProviderKind;
  readonly providerId: string;
  readonly topic: Template;
}

export interface RequestBinding {
  readonly kind: "request";
  readonly provider: "nats";
  readonly providerId: string;
  readonly subject: Template;
}

export type FieldBinding = SubscribeBinding | PublishBinding | RequestBinding;

/** Root type name + field name, e.g. "Subscription.employeeUpdated". */
export type RootFieldKey = `${"Query" | "Mutation" | "Subscription"}.${string}`;

export interface EntityKeys {
  /** Each @key's field set, as top-level field names (nested key selections are kept as paths). */
  readonly keys: readonly (readonly string[])[];
}
