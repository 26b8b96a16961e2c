/**
 * Streamgate variants run as stacks of their own (`--stack streamgate,streamgate-jwt`), so one run
 * compares the router with and without a feature, interleaved A B A B on the same harness:
 *
 *   streamgate-jwt        issue 10: every client presents its own RS256 token (one user per client)
 *                         in connection_init; JWKS served by the bench; authentication required
 *   streamgate-jwt-arg    issue 10: tokens per user (user = topic), topics bound by an argument
 *   streamgate-jwt-claim  issue 10: the same topics bound by the token's `sub` claim
 *   streamgate-alo        issue 11: the JetStream field with `delivery: at_least_once` (cursors);
 *                         plain `streamgate` on `--broker jetstream` is the same field at_most_once
 *
 * A variant says how its config differs (`config`), which SDL it needs (`sdl`, for edfsSdl), what
 * its clients send (`clients`: tokens, query, whether the query takes the topic as a variable), and
 * whether every delivery must carry a cursor (`cursors`).
 */
import { randomBytes } from "node:crypto";
import { authFixture, jwtConfig } from "./jwt.mjs";
import { SUBSCRIPTION } from "./schema.mjs";

/** The claim-bound field under the argument-bound field's name: byte-identical frames. */
export const CLAIM_SUBSCRIPTION = "subscription { employeeUpdated: myEmployeeUpdated { __typename id } }";

const withAuth = (config, fixture) => ({ ...config, ...jwtConfig(fixture.url) });

/** Tokens of users "c0".."c<n-1>": client i presents token i (each client its own user). */
async function tokenPerClient({ clients, fixture }) {
  return fixture.tokens(Array.from({ length: clients }, (_, i) => `c${i}`));
}

/** Tokens whose `sub` is the topic name: client i (on topics[i % k]) presents token i % k. */
async function tokenPerTopic({ topics, fixture }) {
  return fixture.tokens(topics);
}

export const VARIANTS = {
  "streamgate-jwt": {
    label: "Streamgate (1 worker), RS256 token per client",
    brokers: ["nats", "jetstream", "redis", "kafka", "memory"],
    fixture: authFixture,
    config: (config, { fixture }) => withAuth(config, fixture),
    clients: async (ctx) => ({ tokens: await tokenPerClient(ctx) }),
  },
  "streamgate-jwt-arg": {
    label: "Streamgate (1 worker), RS256 token per user, topics bound by an argument",
    brokers: ["nats"],
    sdl: { claimField: true },
    fixture: authFixture,
    config: (config, { fixture }) => withAuth(config, fixture),
    clients: async (ctx) => ({ tokens: await tokenPerTopic(ctx), query: SUBSCRIPTION }),
  },
  "streamgate-jwt-claim": {
    label: "Streamgate (1 worker), RS256 token per user, topics bound by the sub claim",
    brokers: ["nats"],
    sdl: { claimField: true },
    fixture: authFixture,
    config: (config, { fixture }) => withAuth(config, fixture),
    clients: async (ctx) => ({
      tokens: await tokenPerTopic(ctx),
      query: CLAIM_SUBSCRIPTION,
      variables: false,
    }),
  },
  "streamgate-alo": {
    label: "Streamgate (1 worker), JetStream at_least_once",
    brokers: ["jetstream"],
    cursors: true,
    config(config) {
      const nats = config.events.providers.nats.map((p) => ({ ...p, delivery: "at_least_once" }));
      return {
        ...config,
        events: { ...config.events, providers: { ...config.events.providers, nats } },
        delivery: { cursor_secret: randomBytes(32).toString("hex") },
      };
    },
  },
};
