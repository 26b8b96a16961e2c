// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} in plain strings is the syntax under test.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configFromObject, loadConfigFile } from "../../../src/config/loader.js";
import { ErrorCode, StreamgateAggregateError } from "../../../src/errors.js";

const LABEL = "(inline config)";

function problemsOf(obj: unknown): readonly string[] {
  try {
    configFromObject(obj, { env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(StreamgateAggregateError);
    expect((err as StreamgateAggregateError).code).toBe(ErrorCode.CONFIG_INVALID);
    return (err as StreamgateAggregateError).problems;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("config validation problems", () => {
  it("names an unknown top-level key and the allowed ones", () => {
    expect(problemsOf({ listen: "x" })).toEqual([
      `${LABEL}: listen: unknown key "listen" (allowed: listen_addr, graphql_path, playground, workers, ` +
        "shutdown_grace_period, heartbeat_interval, log_level, request_timeout, instance_id, subgraph_timeout, subgraphs, events, watch_config, authentication, authorization, websocket, rate_limit, delivery, telemetry, limits, cors, modules, hooks)",
    ]);
  });

  it("names the full path of a deep unknown key", () => {
    const problems = problemsOf({
      events: { providers: { nats: [{ id: "a", url: "nats://h:4222", urll: "x" }] } },
    });
    expect(problems).toEqual([
      `${LABEL}: events.providers.nats[0].urll: unknown key "urll" (allowed: id, delivery, url, authentication, tls, health)`,
    ]);
  });

  it("lists the allowed values of an enum", () => {
    expect(problemsOf({ log_level: "verbose", limits: { slow_client_policy: "kick" } })).toEqual([
      `${LABEL}: log_level: must be one of trace, debug, info, warn, error, fatal, silent (got "verbose")`,
      `${LABEL}: limits.slow_client_policy: must be one of drop, close (got "kick")`,
    ]);
  });

  it("explains workers, durations, addresses and paths in words", () => {
    expect(
      problemsOf({ workers: 0, heartbeat_interval: "15", listen_addr: "localhost", graphql_path: "graphql" }),
    ).toEqual([
      `${LABEL}: listen_addr: must be host:port with a port from 0 to 65535, e.g. 127.0.0.1:3002 (got "localhost")`,
      `${LABEL}: graphql_path: must be a URL path starting with / (no query string or fragment) (got "graphql")`,
      `${LABEL}: workers: must be an integer >= 1 or "auto" (got 0)`,
      `${LABEL}: heartbeat_interval: must be a duration such as 500ms, 10s, 1.5s, 5m or 1h, or an integer of milliseconds (got "15")`,
    ]);
  });

  it("requires a source for each subgraph's schema and exactly one authentication method", () => {
    const problems = problemsOf({
      subgraphs: [{ name: "bare" }],
      events: {
        providers: {
          nats: [
            {
              id: "n",
              url: "nats://h:1",
              authentication: { token: "t", user_info: { username: "u", password: "p" } },
            },
          ],
          kafka: [{ id: "k", brokers: ["h:9092"], authentication: {} }],
        },
      },
    });
    expect(problems).toEqual([
      `${LABEL}: subgraphs[0]: must set at least one of schema_file, schema, routing_url`,
      `${LABEL}: events.providers.nats[0].authentication: must set exactly one of token, user_info, nkey_seed, credentials_file`,
      `${LABEL}: events.providers.kafka[0].authentication: must set exactly one of sasl_plain, sasl_scram, sasl_oauthbearer`,
    ]);
  });

  it("never echoes secrets", () => {
    const problems = problemsOf({
      events: {
        providers: {
          nats: [
            { id: "n", url: "nats://h:1", authentication: { user_info: { username: "u", password: 1234 } } },
          ],
        },
      },
    });
    expect(problems).toEqual([
      `${LABEL}: events.providers.nats[0].authentication.user_info.password: must be a string`,
    ]);
  });

  it("hides URL credentials in the value it echoes", () => {
    expect(problemsOf({ subgraphs: [{ name: "a", routing_url: "//user:pw@host/graphql" }] })).toEqual([
      `${LABEL}: subgraphs[0].routing_url: must be an absolute URL such as scheme://host:port (got "//***@host/graphql")`,
    ]);
  });

  it("rejects durations longer than a Node.js timer can wait", () => {
    expect(problemsOf({ shutdown_grace_period: "1000h", request_timeout: 2 ** 31 })).toEqual([
      `${LABEL}: shutdown_grace_period: must be at most 2147483647ms (about 24.8 days), the longest Node.js timer`,
      `${LABEL}: request_timeout: must be at most 2147483647ms (about 24.8 days), the longest Node.js timer`,
    ]);
    expect(problemsOf({ heartbeat_interval: `${"9".repeat(400)}h` })).toEqual([
      expect.stringMatching(/^\(inline config\): heartbeat_interval: invalid duration ".*": too large$/),
    ]);
  });

  it("treats __proto__ as an ordinary unknown key", () => {
    const problems = problemsOf(JSON.parse('{"limits": {"__proto__": {"max_message_size": 1}}}'));
    expect(problems).toEqual([
      expect.stringMatching(/^\(inline config\): limits.__proto__: unknown key "__proto__"/),
    ]);
  });

  it("rejects null where a section is expected", () => {
    expect(problemsOf({ events: null })).toEqual([`${LABEL}: events: must be an object (got null)`]);
  });

  it("rejects a document that is not a mapping", () => {
    expect(problemsOf(["listen_addr"])).toEqual([`${LABEL}: (root): must be an object (got an array)`]);
  });

  it("reports duplicate subgraph names and provider ids per kind", () => {
    const problems = problemsOf({
      subgraphs: [
        { name: "a", schema: "type Query { a: Int }" },
        { name: "b", schema: "type Query { b: Int }" },
        { name: "a", routing_url: "http://h/graphql" },
      ],
      events: {
        providers: {
          nats: [
            { id: "default", url: "memory://" },
            { id: "default", url: "nats://h:4222" },
          ],
          // The same id under another kind is fine.
          kafka: [{ id: "default", brokers: ["memory://"] }],
          redis: [
            { id: "r", urls: ["memory://"] },
            { id: "r", urls: ["memory://"] },
          ],
        },
      },
    });
    expect(problems).toEqual([
      `${LABEL}: subgraphs[2].name: duplicate subgraph name "a" (also at subgraphs[0].name)`,
      `${LABEL}: events.providers.nats[1].id: duplicate nats provider id "default" (also at events.providers.nats[0].id)`,
      `${LABEL}: events.providers.redis[1].id: duplicate redis provider id "r" (also at events.providers.redis[0].id)`,
    ]);
  });

  it("lists every problem of a file at once, each prefixed with the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "streamgate-config-"));
    const path = join(dir, "many.yaml");
    const yaml = [
      "listen_addr: 127.0.0.1:99999",
      "log_level: loud",
      "telemetry: { enabled: true }",
      "subgraphs:",
      "  - name: a",
      "    routing_url: not a url",
      "  - name: a",
      "    schema_file: a.graphql",
      "events:",
      "  providers:",
      "    nats:",
      "      - id: n",
      "        url: nats://${NATS_HOST}:4222",
      "    kafka:",
      "      - id: k",
      "        brokers: []",
      "        fetch_max_wait: soon",
      "limits:",
      "  max_subscriptions_per_connection: -1",
      "  extra: 1",
    ].join("\n");
    await writeFile(path, yaml);
    const err = await loadConfigFile(path, {}).catch((e: unknown) => e as StreamgateAggregateError);
    expect(err).toBeInstanceOf(StreamgateAggregateError);
    const { problems, message } = err as StreamgateAggregateError;
    expect(message.split("\n")[0]).toBe(`${path}: invalid configuration`);
    expect(problems.map((p) => p.slice(path.length + 2))).toEqual([
      "events.providers.nats[0].url: environment variable NATS_HOST is not set",
      'listen_addr: must be host:port with a port from 0 to 65535, e.g. 127.0.0.1:3002 (got "127.0.0.1:99999")',
      'log_level: must be one of trace, debug, info, warn, error, fatal, silent (got "loud")',
      'subgraphs[0].routing_url: must be an absolute URL such as scheme://host:port (got "not a url")',
      "events.providers.kafka[0].brokers: must have at least 1 item",
      'events.providers.kafka[0].fetch_max_wait: must be a duration such as 500ms, 10s, 1.5s, 5m or 1h, or an integer of milliseconds (got "soon")',
      'telemetry.enabled: unknown key "enabled" (allowed: service_name, tracing)',
      'limits.extra: unknown key "extra" (allowed: max_connections, max_connections_per_ip, max_subscriptions_per_connection, max_topics_per_subscription, max_message_size, max_operation_depth, max_operation_aliases, max_operation_root_fields, connection_init_timeout, body_read_timeout, max_backpressure, max_total_backpressure, slow_client_policy)',
      "limits.max_subscriptions_per_connection: must be >= 1 (got -1)",
      'subgraphs[1].name: duplicate subgraph name "a" (also at subgraphs[0].name)',
    ]);
    expect(message.split("\n")).toHaveLength(problems.length + 1);
  });
});

describe("broker connection keys (production)", () => {
  it("never echoes an NKey seed or an OAuth client secret, and says what a seed looks like", () => {
    const problems = problemsOf({
      events: {
        providers: {
          nats: [{ id: "n", url: "nats://h:1", authentication: { nkey_seed: "SUsecretbutmalformed" } }],
          kafka: [
            {
              id: "k",
              brokers: ["h:9092"],
              authentication: {
                sasl_oauthbearer: {
                  token_endpoint_url: "https://idp/token",
                  client_id: "c",
                  client_secret: 7,
                },
              },
            },
          ],
        },
      },
    });
    expect(problems).toEqual([
      `${LABEL}: events.providers.nats[0].authentication.nkey_seed: must be an NKey user seed: SU followed by 56 base32 characters`,
      `${LABEL}: events.providers.kafka[0].authentication.sasl_oauthbearer.client_secret: must be a string`,
    ]);
    expect(problems.join("\n")).not.toContain("secretbutmalformed");
  });

  it("wants cert_file and key_file together, and URLs in words", () => {
    const problems = problemsOf({
      events: {
        providers: {
          nats: [{ id: "n", url: "localhost:4222", tls: { cert_file: "c.pem" } }],
          redis: [{ id: "r", urls: ["redis://h:1"], tls: { key_file: "k.pem" } }],
        },
      },
    });
    expect(problems).toEqual([
      `${LABEL}: events.providers.nats[0].url: must be one URL such as nats://host:4222 or tls://host:4222, several separated by commas, or memory:// (got "localhost:4222")`,
      `${LABEL}: events.providers.nats[0].tls.key_file: is required with cert_file`,
      `${LABEL}: events.providers.redis[0].tls.cert_file: is required with key_file`,
    ]);
  });
});
