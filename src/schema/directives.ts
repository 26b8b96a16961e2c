/**
 * EDFS directive definitions and their extraction from an event-driven subgraph's SDL into the
 * model of src/schema/model.ts. Extraction collects problems instead of throwing, so start-up
 * reports every mistake at once.
 */
import { type ConstDirectiveNode, type DocumentNode, Kind, parse, valueFromASTUntyped } from "graphql";
import type { ProviderKind } from "../providers/provider.js";
import type { FieldBinding, FilterCondition, RootFieldKey, StreamConfiguration } from "./model.js";
import { parseTemplate, type Template } from "./template.js";

/** Added to an event-driven subgraph that omits them (contract.md, "Schema directives"). */
export const EDFS_DEFINITIONS_SDL = `
directive @edfs__natsSubscribe(subjects: [String!]!, providerId: String! = "default", streamConfiguration: edfs__NatsStreamConfiguration) on FIELD_DEFINITION
directive @edfs__natsPublish(subject: String!, providerId: String! = "default") on FIELD_DEFINITION
directive @edfs__natsRequest(subject: String!, providerId: String! = "default") on FIELD_DEFINITION
directive @edfs__kafkaSubscribe(topics: [String!]!, providerId: String! = "default") on FIELD_DEFINITION
directive @edfs__kafkaPublish(topic: String!, providerId: String! = "default") on FIELD_DEFINITION
directive @edfs__redisSubscribe(channels: [String!]!, providerId: String! = "default") on FIELD_DEFINITION
directive @edfs__redisPublish(channel: String!, providerId: String! = "default") on FIELD_DEFINITION
directive @openfed__subscriptionFilter(condition: openfed__SubscriptionFilterCondition!) on FIELD_DEFINITION
input edfs__NatsStreamConfiguration { consumerInactiveThreshold: Int! = 30, consumerName: String!, streamName: String! }
type edfs__PublishResult { success: Boolean! }
input openfed__SubscriptionFilterCondition {
  AND: [openfed__SubscriptionFilterCondition!]
  OR: [openfed__SubscriptionFilterCondition!]
  NOT: openfed__SubscriptionFilterCondition
  IN: openfed__SubscriptionFieldCondition
}
input openfed__SubscriptionFieldCondition { fieldPath: String!, values: [openfed__SubscriptionFilterValue]! }
scalar openfed__SubscriptionFilterValue
`;

export const EDFS_DEFINITIONS: DocumentNode = parse(EDFS_DEFINITIONS_SDL);
export const EDFS_NAME = /^(edfs__|openfed__)/;

interface DirectiveSpec {
  readonly kind: FieldBinding["kind"];
  readonly provider: ProviderKind;
  /** The argument holding the topic(s). */
  readonly arg: string;
  readonly list: boolean;
}

const SPECS: Readonly<Record<string, DirectiveSpec>> = {
  edfs__natsSubscribe: { kind: "subscribe", provider: "nats", arg: "subjects", list: true },
  edfs__kafkaSubscribe: { kind: "subscribe", provider: "kafka", arg: "topics", list: true },
  edfs__redisSubscribe: { kind: "subscribe", provider: "redis", arg: "channels", list: true },
  edfs__natsPublish: { kind: "publish", provider: "nats", arg: "subject", list: false },
  edfs__kafkaPublish: { kind: "publish", provider: "kafka", arg: "topic", list: false },
  edfs__redisPublish: { kind: "publish", provider: "redis", arg: "channel", list: false },
  edfs__natsRequest: { kind: "request", provider: "nats", arg: "subject", list: false },
};

export const ROOT_FOR_KIND = { subscribe: "Subscription", publish: "Mutation", request: "Query" } as const;

function argValues(d: ConstDirectiveNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of d.arguments ?? []) out[a.name.value] = valueFromASTUntyped(a.value);
  return out;
}

export interface ExtractedField {
  readonly key: RootFieldKey;
  readonly binding: FieldBinding;
}

/** Result of reading a subgraph's directives: bindings found and problems met. */
export interface Extraction {
  readonly fields: ExtractedField[];
  /** Root fields (e.g. "Query.x") that carry no EDFS directive. */
  readonly unbound: string[];
  readonly problems: string[];
}

function rootTypeNames(doc: DocumentNode): Record<string, string> {
  const names: Record<string, string> = {
    query: "Query",
    mutation: "Mutation",
    subscription: "Subscription",
  };
  for (const def of doc.definitions) {
    if (def.kind === Kind.SCHEMA_DEFINITION || def.kind === Kind.SCHEMA_EXTENSION) {
      for (const op of def.operationTypes ?? []) names[op.operation] = op.type.name.value;
    }
  }
  return names;
}

/** Reads every EDFS binding of an event-driven subgraph. `where` prefixes problem messages. */
export function extractBindings(doc: DocumentNode, where: string): Extraction {
  const roots = rootTypeNames(doc);
  const rootOf = new Map(Object.entries(roots).map(([op, name]) => [name, op]));
  const canonical = { query: "Query", mutation: "Mutation", subscription: "Subscription" } as const;
  const out: Extraction = { fields: [], unbound: [], problems: [] };
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const op = rootOf.get(def.name.value) as keyof typeof canonical | undefined;
    for (const field of def.fields ?? []) {
      const directives = field.directives ?? [];
      const bound = directives.filter((d) => SPECS[d.name.value]);
      const filters = directives.filter((d) => d.name.value === "openfed__subscriptionFilter");
      const at = `${where}: ${def.name.value}.${field.name.value}`;
      if (!op) {
        if (bound.length + filters.length > 0)
          out.problems.push(`${at}: EDFS directives belong on root fields only`);
        continue;
      }
      const key = `${canonical[op]}.${field.name.value}` as RootFieldKey;
      if (bound.length === 0) {
        out.unbound.push(key);
        continue;
      }
      if (bound.length > 1) {
        out.problems.push(`${at}: has ${bound.length} EDFS directives; exactly one is allowed`);
        continue;
      }
      const d = bound[0]!;
      const spec = SPECS[d.name.value]!;
      if (ROOT_FOR_KIND[spec.kind] !== canonical[op]) {
        out.problems.push(`${at}: @${d.name.value} is only allowed on ${ROOT_FOR_KIND[spec.kind]} fields`);
        continue;
      }
      if (filters.length > 0 && spec.kind !== "subscribe") {
        out.problems.push(`${at}: @openfed__subscriptionFilter is only allowed on Subscription fields`);
      }
      const binding = toBinding(spec, argValues(d), filters[0], at, out.problems);
      if (binding) out.fields.push({ key, binding });
    }
  }
  return out;
}

function templates(raw: unknown, at: string, problems: string[]): Template[] | null {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || !list.every((s) => typeof s === "string" && s.length > 0)) {
    problems.push(`${at}: topics must be a non-empty list of non-empty strings`);
    return null;
  }
  try {
    return list.map((s) => parseTemplate(s as string));
  } catch (err) {
    problems.push(`${at}: ${(err as Error).message}`);
    return null;
  }
}

function toBinding(
  spec: DirectiveSpec,
  args: Record<string, unknown>,
  filter: ConstDirectiveNode | undefined,
  at: string,
  problems: string[],
): FieldBinding | null {
  const providerId = args.providerId === undefined ? "default" : args.providerId;
  if (typeof providerId !== "string" || providerId === "") {
    problems.push(`${at}: providerId must be a non-empty string`);
    return null;
  }
  const ts = templates(args[spec.arg], `${at} (${spec.arg})`, problems);
  if (!ts) return null;
  if (spec.kind === "publish") return { kind: "publish", provider: spec.provider, providerId, topic: ts[0]! };
  if (spec.kind === "request") return { kind: "request", provider: "nats", providerId, subject: ts[0]! };
  let streamConfiguration: StreamConfiguration | undefined;
  if (args.streamConfiguration !== undefined && args.streamConfiguration !== null) {
    const sc = args.streamConfiguration as Record<string, unknown>;
    if (typeof sc.consumerName !== "string" || typeof sc.streamName !== "string") {
      problems.push(`${at}: streamConfiguration needs consumerName and streamName strings`);
      return null;
    }
    const threshold = sc.consumerInactiveThreshold === undefined ? 30 : Number(sc.consumerInactiveThreshold);
    streamConfiguration = {
      consumerName: sc.consumerName,
      streamName: sc.streamName,
      consumerInactiveThreshold: threshold,
    };
  }
  const condition = filter ? (argValues(filter).condition as FilterCondition | undefined) : undefined;
  if (filter && (condition === undefined || condition === null || typeof condition !== "object")) {
    problems.push(`${at}: @openfed__subscriptionFilter needs a condition object`);
    return null;
  }
  return {
    kind: "subscribe",
    provider: spec.provider,
    providerId,
    topics: ts,
    ...(streamConfiguration ? { streamConfiguration } : {}),
    ...(condition ? { filter: condition } : {}),
  };
}
