/**
 * The identities deduplication rests on (spec/edfs.md, "Deduplication"), built in one place so the
 * engine, the registries and the worker link can never disagree on them. Separators are control
 * characters no topic, provider id or GraphQL document can hold unescaped.
 */
import type { StreamOptions } from "../providers/provider.js";

/**
 * An event source: provider, sorted topics and JetStream stream options. Names a trigger (all of a
 * field's rendered topics) and a broker subscription in the topic registry (usually one topic);
 * a JetStream subscription is a different source from a core one on the same subject.
 */
export function sourceKey(
  providerId: string,
  topics: readonly string[],
  stream: StreamOptions | undefined,
): string {
  const streamKey = stream ? `\u0002${stream.streamName}\u0002${stream.consumerName}` : "";
  return `${providerId}\u0001${topics.join("\u0001")}${streamKey}`;
}

/** A resolution group inside a trigger: the operation as sent and its coerced variables. */
export function groupKeyOf(
  operationName: string | null | undefined,
  query: string,
  variablesJson: string,
): string {
  return `${operationName ?? ""}\u0000${query}\u0000${variablesJson}`;
}

/** A group across workers: its trigger and its key inside the trigger. */
export function clusterGroupKey(triggerKey: string, groupKey: string): string {
  return `${triggerKey}\u0003${groupKey}`;
}

/** NATS wildcards and Redis glob characters (Kafka topic names have none). */
const PATTERN = /[*>?[]/;

/**
 * How a trigger's topics become broker subscriptions. Patterns of one field may match the same
 * message (`x.*` and `x.1`): subscribed separately, the trigger would see it twice, so such a set
 * is one broker subscription, which providers deliver once per message. Plain topics stay one
 * subscription each, shared per topic across triggers. The session buffer keeps one log per
 * broker subscription, so it splits a trigger's topics the same way.
 */
export function brokerSources(topics: readonly string[]): readonly (readonly string[])[] {
  return topics.length > 1 && topics.some((t) => PATTERN.test(t)) ? [topics] : topics.map((t) => [t]);
}
