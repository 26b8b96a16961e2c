import { describe, expect, it } from "vitest";
import { ErrorCode, type StreamgateAggregateError } from "../../../src/errors.js";
import type { ProviderKind } from "../../../src/providers/provider.js";
import { loadSupergraph } from "../../../src/schema/supergraph.js";

const SDL = `
type Subscription {
  a(id: ID!): E! @edfs__natsSubscribe(subjects: ["a.{{ args.id }}"])
  b(id: ID!): E! @edfs__kafkaSubscribe(topics: ["b"], providerId: "k")
  c(id: ID!): E! @edfs__redisSubscribe(channels: ["c"], providerId: "gone")
}
type Mutation { p(id: ID!): edfs__PublishResult! @edfs__natsPublish(subject: "p", providerId: "gone") }
type E @key(fields: "id", resolvable: false) { id: ID! @external }
`;
const sg = [{ name: "events", schema: SDL }];

async function problems(providers: Map<string, ProviderKind>): Promise<StreamgateAggregateError> {
  try {
    await loadSupergraph(sg, { providers });
  } catch (err) {
    return err as StreamgateAggregateError;
  }
  throw new Error("expected a failure");
}

describe("provider ids in the schema", () => {
  it("fails naming every field whose provider is unknown or of another kind", async () => {
    const err = await problems(
      new Map<string, ProviderKind>([
        ["default", "nats"],
        ["k", "redis"],
      ]),
    );
    expect(err.code).toBe(ErrorCode.PROVIDER_UNKNOWN);
    expect(err.problems).toHaveLength(3);
    expect(err.problems.join("\n")).toContain('Subscription.b: providerId "k" is a redis provider');
    expect(err.problems.join("\n")).toContain(
      'Subscription.c: providerId "gone" names no configured redis provider',
    );
    expect(err.problems.join("\n")).toContain(
      'Mutation.p: providerId "gone" names no configured nats provider',
    );
  });

  it("with skipUnknownProviders drops those fields (and an emptied root type) from the schema", async () => {
    const s = await loadSupergraph(sg, {
      providers: new Map<string, ProviderKind>([
        ["default", "nats"],
        ["k", "kafka"],
      ]),
      skipUnknownProviders: true,
    });
    expect(Object.keys(s.schema.getSubscriptionType()!.getFields()).sort()).toEqual(["a", "b"]);
    expect(s.schema.getMutationType()).toBeUndefined();
    expect(s.bindings.has("Subscription.c")).toBe(false);
    expect(s.dropped).toHaveLength(2);
  });

  it("still fails on a provider of the wrong kind even with skipUnknownProviders", async () => {
    await expect(
      loadSupergraph(sg, {
        providers: new Map<string, ProviderKind>([
          ["default", "nats"],
          ["k", "redis"],
          ["gone", "redis"],
        ]),
        skipUnknownProviders: true,
      }),
    ).rejects.toThrow(/is a redis provider/);
  });
});
