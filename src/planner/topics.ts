/**
 * Renders a binding's topic templates for one subscribe/publish. Client-supplied values are
 * checked per broker so they can never widen a subscription: no NATS wildcard or token split, no
 * Redis glob character, nothing outside Kafka's topic alphabet.
 */
import { ErrorCode, StreamgateError } from "../errors.js";
import type { ProviderKind } from "../providers/provider.js";
import { validateNatsSubject } from "../providers/subject.js";
import { type RenderContext, renderTemplate, type Template, type ValueCheck } from "../schema/template.js";

const VALUE_CHECKS: Readonly<Record<ProviderKind, ValueCheck>> = {
  nats: (v) =>
    v === ""
      ? "must not be empty"
      : /[\s.*>]/.test(v)
        ? `value "${truncate(v)}" may not contain ".", "*", ">" or whitespace in a NATS subject`
        : null,
  redis: (v) =>
    /[*?[\]\\]/.test(v) ? `value "${truncate(v)}" may not contain "*", "?", "[", "]" or "\\"` : null,
  kafka: (v) =>
    /^[A-Za-z0-9._-]+$/.test(v) ? null : `value "${truncate(v)}" is not a valid Kafka topic name part`,
};

function tooMany(max: number): StreamgateError {
  return new StreamgateError(
    ErrorCode.LIMIT_EXCEEDED,
    `the subscription would render more than ${max} topics (limits.max_topics_per_subscription)`,
  );
}

function truncate(v: string): string {
  return v.length > 40 ? `${v.slice(0, 40)}…` : v;
}

/**
 * Renders every template, expands lists, validates, and returns sorted unique topics. More than
 * `maxTopics` renderings over all templates (counted before duplicates are removed) are refused
 * with LIMIT_EXCEEDED while rendering (limits.max_topics_per_subscription).
 */
export function renderTopics(
  provider: ProviderKind,
  templates: readonly Template[],
  ctx: RenderContext,
  maxTopics = Number.POSITIVE_INFINITY,
): string[] {
  const out = new Set<string>();
  let rendered = 0;
  for (const t of templates) {
    let topics: string[];
    try {
      topics = renderTemplate(t, ctx, VALUE_CHECKS[provider], maxTopics - rendered);
    } catch (err) {
      // The template knows only the budget left to it; the client is told the configured limit.
      if (err instanceof StreamgateError && err.code === ErrorCode.LIMIT_EXCEEDED) throw tooMany(maxTopics);
      throw err;
    }
    rendered += topics.length;
    if (rendered > maxTopics) throw tooMany(maxTopics);
    for (const topic of topics) {
      if (provider === "nats") {
        const problem = validateNatsSubject(topic, { allowWildcards: true });
        if (problem) throw new StreamgateError(ErrorCode.SUBJECT_INVALID, `subject "${topic}": ${problem}`);
      }
      if (topic.length > 1024)
        throw new StreamgateError(ErrorCode.SUBJECT_INVALID, "topic longer than 1024 bytes");
      out.add(topic);
    }
  }
  if (out.size === 0) {
    // An empty list argument would make a subscription that can never receive anything.
    throw new StreamgateError(ErrorCode.SUBJECT_INVALID, "the arguments render no topic (an empty list?)");
  }
  return [...out].sort();
}

/** Wildcards a topic holds: NATS `*` tokens and a `>` token; Redis glob characters. */
function wildcards(provider: ProviderKind, topic: string): { readonly one: number; readonly rest: boolean } {
  if (provider === "nats") {
    const tokens = topic.split(".");
    return { one: tokens.filter((t) => t === "*").length, rest: tokens.includes(">") };
  }
  if (provider === "redis") return { one: (topic.match(/[*?[]/g) ?? []).length, rest: false };
  return { one: 0, rest: false };
}

/**
 * Checks topics a hook (onSubscriptionCreate) put in place of the rendered ones, like rendered
 * templates: valid for the broker, at most `maxTopics`, and no injected wildcards. A rewritten
 * topic may hold no more wildcards than the most any original held (a tenant prefix on
 * `employeeUpdated.*` keeps its `*`; on `employeeUpdated.7` it may add none), so a hook building
 * topics from client input (a header, a claim) cannot widen a subscription. Sorted, unique.
 */
export function checkRewrittenTopics(
  provider: ProviderKind,
  original: readonly string[],
  rewritten: readonly string[],
  maxTopics = Number.POSITIVE_INFINITY,
): string[] {
  if (rewritten.length > maxTopics) throw tooMany(maxTopics);
  if (rewritten.length === 0)
    throw new StreamgateError(ErrorCode.SUBJECT_INVALID, "the hook returned no topic");
  let maxOne = 0;
  let rest = false;
  for (const t of original) {
    const w = wildcards(provider, t);
    maxOne = Math.max(maxOne, w.one);
    rest ||= w.rest;
  }
  const out = new Set<string>();
  for (const topic of rewritten) {
    const shown = JSON.stringify(truncate(topic));
    if (topic === "" || topic.length > 1024)
      throw new StreamgateError(ErrorCode.SUBJECT_INVALID, `topic ${shown} is empty or longer than 1024`);
    if (provider === "nats") {
      const problem = validateNatsSubject(topic, { allowWildcards: true });
      if (problem) throw new StreamgateError(ErrorCode.SUBJECT_INVALID, `subject ${shown}: ${problem}`);
    } else if (provider === "kafka" && !/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
      throw new StreamgateError(ErrorCode.SUBJECT_INVALID, `topic ${shown} is not a valid Kafka topic name`);
    } else if (provider === "redis" && topic.includes("\\")) {
      throw new StreamgateError(ErrorCode.SUBJECT_INVALID, `channel ${shown} may not contain "\\"`);
    }
    const w = wildcards(provider, topic);
    if (w.one > maxOne || (w.rest && !rest))
      throw new StreamgateError(
        ErrorCode.SUBJECT_INVALID,
        `topic ${shown} has more wildcards than the subscription's own topics (an injected wildcard?)`,
      );
    out.add(topic);
  }
  return [...out].sort();
}
