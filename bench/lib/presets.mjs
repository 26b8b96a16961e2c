/**
 * Named comparisons: a scenario run on two Streamgate variants (lib/variants.mjs), interleaved
 * A B A B, with the defaults that make the comparison the issue asks for. `npm run bench -- <name>`
 * is `npm run bench -- <scenario> --stack A,B --tag <name> …`; any option given still wins.
 * Their targets are evaluated in lib/report-ab.mjs.
 */
export const PRESETS = {
  // Issue 10: 10k clients each with its own RS256 token vs the same run without authentication.
  "auth-connect": {
    scenario: "idle",
    stacks: ["streamgate", "streamgate-jwt"],
    defaults: { clients: 10_000, duration: 30 },
  },
  // Issue 10: claim-bound topics vs the same topics bound by an argument, both authenticated:
  // 100 users (topics) × 100 connections each at 10k clients; rate = ticks/s, one event per topic each.
  "auth-claims": {
    scenario: "broadcast",
    stacks: ["streamgate-jwt-arg", "streamgate-jwt-claim"],
    defaults: { clients: 10_000, topics: 100, rates: [1, 5, 10], duration: 10 },
  },
  // Issue 11: the JetStream field at_most_once (plain streamgate) vs at_least_once.
  "at-least-once": {
    scenario: "broadcast",
    broker: "jetstream",
    stacks: ["streamgate", "streamgate-alo"],
    defaults: { clients: 10_000, rates: [1, 10, 100], durations: [10, 5, 2] },
  },
};
