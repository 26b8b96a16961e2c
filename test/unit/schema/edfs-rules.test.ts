import { Kind, parse, print } from "graphql";
import { describe, expect, it } from "vitest";
import { extractBindings } from "../../../src/schema/directives.js";
import {
  hasFederationLink,
  normalizeEventSubgraph,
  withEdfsDefinitions,
} from "../../../src/schema/normalize.js";
import { keyFieldNames, validateEventSubgraph } from "../../../src/schema/validate-edfs.js";

const E = `type E @key(fields: "id", resolvable: false) { id: ID! @external }`;

describe("keyFieldNames", () => {
  it.each([
    ["id", ["id"]],
    ["id tag", ["id", "tag"]],
    ["  id\n\ttag  ", ["id", "tag"]],
    ["id,tag", ["id", "tag"]],
    ["id org { id }", ["id", "org"]],
    ["org{id} id", ["org", "id"]],
    ["a { b { c } d } e", ["a", "e"]],
    ["", []],
  ])("%j → %j", (fields, names) => {
    expect(keyFieldNames(fields)).toEqual(names);
  });
});

describe("extractBindings", () => {
  it("reads bindings under custom root type names as Subscription/Mutation/Query", () => {
    const doc = parse(`schema { query: Q mutation: M subscription: S }
      type S { s: E! @edfs__redisSubscribe(channels: ["c.{{ args.id }}"], providerId: "r") }
      type M { m: edfs__PublishResult! @edfs__kafkaPublish(topic: "t") }
      type Q { q: E! @edfs__natsRequest(subject: "q") plain: E! }
      ${E}`);
    const out = extractBindings(doc, "subgraph x");
    expect(out.problems).toEqual([]);
    expect(out.unbound).toEqual(["Query.plain"]);
    expect(out.fields.map((f) => [f.key, f.binding.kind, f.binding.provider, f.binding.providerId])).toEqual([
      ["Subscription.s", "subscribe", "redis", "r"],
      ["Mutation.m", "publish", "kafka", "default"],
      ["Query.q", "request", "nats", "default"],
    ]);
  });

  it.each([
    [
      `type Subscription { a: E! @edfs__natsSubscribe(subjects: []) }`,
      "Subscription.a (subjects): topics must be a non-empty list of non-empty strings",
    ],
    [
      `type Subscription { a: E! @edfs__natsSubscribe(subjects: [""]) }`,
      "Subscription.a (subjects): topics must be a non-empty list of non-empty strings",
    ],
    [
      `type Subscription { a: E! @edfs__natsSubscribe(subjects: ["x"], providerId: "") }`,
      "Subscription.a: providerId must be a non-empty string",
    ],
    [
      `type Subscription { a: E! @edfs__natsSubscribe(subjects: ["x"], streamConfiguration: { consumerName: "c" }) }`,
      "Subscription.a: streamConfiguration needs consumerName and streamName strings",
    ],
    [
      `type Mutation { p: edfs__PublishResult! @edfs__natsRequest(subject: "x") }`,
      "Mutation.p: @edfs__natsRequest is only allowed on Query fields",
    ],
    [
      `type Query { q: E! @edfs__redisPublish(channel: "x") }`,
      "Query.q: @edfs__redisPublish is only allowed on Mutation fields",
    ],
    [
      `type Other { x: Int @edfs__natsPublish(subject: "a") }`,
      "Other.x: EDFS directives belong on root fields only",
    ],
    [
      `type Other { x: Int @openfed__subscriptionFilter(condition: { IN: { fieldPath: "a", values: [] } }) }`,
      "Other.x: EDFS directives belong on root fields only",
    ],
    [
      `type Subscription { a: E! @edfs__natsSubscribe(subjects: ["x"]) @openfed__subscriptionFilter(condition: 3) }`,
      "Subscription.a: @openfed__subscriptionFilter needs a condition object",
    ],
    [
      `type Subscription { a: E! @edfs__natsSubscribe(subjects: ["{{ args.a"]) }`,
      'Subscription.a (subjects): template "{{ args.a": unterminated "{{"',
    ],
  ])("problem for %s", (sdl, problem) => {
    const out = extractBindings(parse(`${sdl} ${E}`), "subgraph x");
    expect(out.problems).toEqual([`subgraph x: ${problem}`]);
    expect(out.fields).toEqual([]);
  });

  it("reads a JetStream threshold when given", () => {
    const out = extractBindings(
      parse(`type Subscription { a: E! @edfs__natsSubscribe(subjects: ["x"],
        streamConfiguration: { consumerName: "c", streamName: "s", consumerInactiveThreshold: 5 }) } ${E}`),
      "s",
    );
    expect(out.fields[0]?.binding).toMatchObject({
      streamConfiguration: { consumerName: "c", streamName: "s", consumerInactiveThreshold: 5 },
    });
  });
});

describe("validateEventSubgraph", () => {
  it("accepts an interface an entity implements and a union holding one", () => {
    const doc = parse(`
      type Subscription {
        i: Change! @edfs__natsSubscribe(subjects: ["i"])
        u: Event! @edfs__natsSubscribe(subjects: ["u"])
      }
      interface Change { id: ID! }
      type C implements Change @key(fields: "id", resolvable: false) { id: ID! @external }
      union Event = C`);
    const out = extractBindings(doc, "subgraph s");
    expect(validateEventSubgraph("s", doc, out.fields, out.unbound)).toEqual([]);
  });

  it("rejects an interface or union without an entity member", () => {
    const doc = parse(`
      type Subscription {
        i: Change! @edfs__natsSubscribe(subjects: ["i"])
        u: Event! @edfs__natsSubscribe(subjects: ["u"])
      }
      interface Change { id: ID! }
      union Event = E
      ${E.replace("@key", "@shareable")}`);
    const out = extractBindings(doc, "subgraph s");
    expect(validateEventSubgraph("s", doc, out.fields, out.unbound)).toEqual([
      "subgraph s: type E: an event-driven subgraph holds only entities (add @key)",
      "subgraph s: Subscription.i: returns Change, which has no entity member",
      "subgraph s: Subscription.u: returns Event, which has no entity member",
    ]);
  });

  it("accepts templates over a leaf of an input object, an enum, and a list of scalars", () => {
    const doc = parse(`
      type Subscription { a(in: In!, k: Kind!, ids: [ID!]!): E!
        @edfs__natsSubscribe(subjects: ["a.{{ args.in.org.id }}.{{ args.k }}.{{ args.ids }}"]) }
      input In { org: Org! } input Org { id: ID! } enum Kind { A B }
      ${E}`);
    const out = extractBindings(doc, "subgraph s");
    expect(validateEventSubgraph("s", doc, out.fields, out.unbound)).toEqual([]);
  });
  // BUG (src/schema/validate-edfs.ts:120): the leaf check runs only while `problems` is empty, and
  // `problems` holds the problems of earlier placeholders of the same template, so a second mistake
  // in one template goes unreported although start-up should list every problem at once.
  it("reports every bad placeholder of one template", () => {
    const doc = parse(`type Subscription { t(in: In!): E!
        @edfs__natsSubscribe(subjects: ["e.{{ args.nope }}.{{ args.in }}"]) }
      input In { id: ID! } ${E}`);
    const out = extractBindings(doc, "subgraph s");
    expect(validateEventSubgraph("s", doc, out.fields, out.unbound)).toEqual([
      'subgraph s: Subscription.t: template "e.{{ args.nope }}.{{ args.in }}" names argument "nope", which t does not have',
      'subgraph s: Subscription.t: template "e.{{ args.nope }}.{{ args.in }}": args.in must end on a scalar or enum',
    ]);
  });

  it("reports a bad placeholder in each of two templates", () => {
    const doc = parse(`type Subscription { t(in: In!): E!
        @edfs__natsSubscribe(subjects: ["a.{{ args.nope }}", "b.{{ args.in }}"]) }
      input In { id: ID! } ${E}`);
    const out = extractBindings(doc, "subgraph s");
    expect(validateEventSubgraph("s", doc, out.fields, out.unbound)).toEqual([
      'subgraph s: Subscription.t: template "a.{{ args.nope }}" names argument "nope", which t does not have',
      'subgraph s: Subscription.t: template "b.{{ args.in }}": args.in must end on a scalar or enum',
    ]);
  });
});

describe("normalize", () => {
  const SDL = `type Subscription { a: E! @edfs__natsSubscribe(subjects: ["x"]) }
    type Mutation { p: edfs__PublishResult! @edfs__natsPublish(subject: "a") }
    type edfs__PublishResult { success: Boolean! }
    input edfs__NatsStreamConfiguration { consumerName: String! }
    ${E}`;

  it("adds the federation @link, strips EDFS artefacts and @external, re-adds a shareable PublishResult", () => {
    const out = normalizeEventSubgraph(parse(SDL));
    expect(hasFederationLink(out)).toBe(true);
    const text = print(out);
    expect(text).not.toMatch(/@edfs__|@external(?!")|edfs__NatsStreamConfiguration/);
    expect(text).toContain("type edfs__PublishResult @shareable {\n  success: Boolean!\n}");
    expect(text.match(/type edfs__PublishResult/g)).toHaveLength(1);
    expect(text).toContain('type E @key(fields: "id", resolvable: false) {\n  id: ID!\n}');
    expect(out.definitions.filter((d) => d.kind === Kind.SCHEMA_EXTENSION)).toHaveLength(1);
  });

  it("keeps an existing federation @link instead of adding another", () => {
    const linked = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
      ${SDL}`;
    const out = normalizeEventSubgraph(parse(linked));
    expect(out.definitions.filter((d) => d.kind === Kind.SCHEMA_EXTENSION)).toHaveLength(1);
    expect(print(out)).toContain("federation/v2.3");
    expect(hasFederationLink(parse(`extend schema @link(url: "https://specs.apollo.dev/link/v1.0")`))).toBe(
      false,
    );
  });

  it("adds no PublishResult when the subgraph does not use it", () => {
    const out = normalizeEventSubgraph(
      parse(`type Subscription { a: E! @edfs__natsSubscribe(subjects: ["x"]) } ${E}`),
    );
    expect(print(out)).not.toContain("edfs__PublishResult");
  });

  it("withEdfsDefinitions adds only the definitions the document omits", () => {
    const doc = parse(`scalar openfed__SubscriptionFilterValue ${E}`);
    const names = withEdfsDefinitions(doc).definitions.flatMap((d) =>
      "name" in d && d.name ? [d.name.value] : [],
    );
    expect(names.filter((n) => n === "openfed__SubscriptionFilterValue")).toHaveLength(1);
    expect(names).toContain("edfs__natsSubscribe");
    expect(names).toContain("edfs__PublishResult");
    expect(names).toHaveLength(2 + 8 + 4);
  });
});
