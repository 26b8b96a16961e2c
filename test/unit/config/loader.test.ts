// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} in plain strings is the syntax under test.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configFromObject, loadConfigFile } from "../../../src/config/loader.js";
import { ErrorCode, StreamgateAggregateError } from "../../../src/errors.js";

async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "streamgate-config-"));
  const path = join(dir, name);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, text);
  return path;
}

async function loadError(path: string, env: NodeJS.ProcessEnv = {}): Promise<StreamgateAggregateError> {
  const err = await loadConfigFile(path, env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StreamgateAggregateError);
  return err as StreamgateAggregateError;
}

describe("loadConfigFile", () => {
  it("loads YAML, applies defaults, converts durations and records the source", async () => {
    const path = await tempFile("router.yaml", "listen_addr: 0.0.0.0:0\nheartbeat_interval: 1m30s\n");
    const config = await loadConfigFile(path, {});
    expect(config.listen_addr).toBe("0.0.0.0:0");
    expect(config.heartbeat_interval).toBe(90_000);
    expect(config.shutdown_grace_period).toBe(10_000);
    expect(config.source).toBe(path);
  });

  it("loads JSON by extension", async () => {
    const path = await tempFile("router.json", JSON.stringify({ workers: "auto", request_timeout: 250 }));
    const config = await loadConfigFile(path, {});
    expect(config.workers).toBe("auto");
    expect(config.request_timeout).toBe(250);
  });

  it("accepts a $schema key in JSON files for editors and drops it", async () => {
    const path = await tempFile(
      "router.json",
      JSON.stringify({ $schema: "./schema.json", playground: false }),
    );
    const config = await loadConfigFile(path, {});
    expect(config.playground).toBe(false);
    expect("$schema" in config).toBe(false);
  });

  it("reads any other extension as YAML", async () => {
    const config = await loadConfigFile(await tempFile("router.conf", "log_level: debug\n"), {});
    expect(config.log_level).toBe("debug");
  });

  it("treats an empty file as all defaults", async () => {
    const config = await loadConfigFile(await tempFile("empty.yml", "# nothing\n"), {});
    expect(config.graphql_path).toBe("/graphql");
  });

  it("reports a YAML syntax error with line and column", async () => {
    const path = await tempFile(
      "bad.yaml",
      "listen_addr: 127.0.0.1:3002\nsubgraphs: [a, b\nplayground: true\n",
    );
    const err = await loadError(path);
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.problems.length).toBeGreaterThan(0);
    expect(err.problems[0]).toMatch(new RegExp(`^${escapeRegExp(path)}: line 3, column 1: YAML: `));
  });

  it("reports duplicate YAML keys", async () => {
    const err = await loadError(await tempFile("dup.yaml", "workers: 1\nworkers: 2\n"));
    expect(err.problems[0]).toMatch(/line 2, column 1: YAML: .*unique/);
  });

  it("reports a JSON syntax error with line and column", async () => {
    const err = await loadError(await tempFile("bad.json", '{\n  "workers": 1,\n  "playground" true\n}\n'));
    expect(err.problems[0]).toMatch(/: line 3, column 16: JSON: /);
  });

  it("fails with CONFIG_READ naming a missing file", async () => {
    const path = join(tmpdir(), "streamgate-does-not-exist", "router.yaml");
    const err = await loadError(path);
    expect(err.code).toBe(ErrorCode.CONFIG_READ);
    expect(err.message).toContain(path);
    expect(err.problems).toEqual([`${path}: file not found`]);
  });

  it("fails with CONFIG_READ on a directory", async () => {
    const err = await loadError(tmpdir());
    expect(err.code).toBe(ErrorCode.CONFIG_READ);
  });

  it("resolves schema_file against the config file's folder", async () => {
    const path = await tempFile(
      join("nested", "router.yaml"),
      "subgraphs:\n  - name: a\n    schema_file: ./sdl/a.graphql\n  - name: b\n    schema_file: /abs/b.graphql\n",
    );
    const config = await loadConfigFile(path, {});
    expect(config.subgraphs[0]?.schema_file).toBe(join(path, "..", "sdl", "a.graphql"));
    expect(config.subgraphs[1]?.schema_file).toBe("/abs/b.graphql");
  });

  it("interpolates environment variables and converts env strings where numbers or booleans are due", async () => {
    const yaml = [
      "workers: ${WORKERS}",
      "playground: ${PLAYGROUND}",
      "events:",
      "  providers:",
      "    nats: [{ id: default, url: 'nats://${NATS_HOST}:4222', authentication: { token: '${TOKEN}' } }]",
      "    kafka: [{ id: k, brokers: ['${KAFKA}'], tls: { enabled: '${TLS}' } }]",
    ].join("\n");
    const env = {
      WORKERS: "4",
      PLAYGROUND: "false",
      NATS_HOST: "nats",
      TOKEN: "123",
      KAFKA: "k:9092",
      TLS: "true",
    };
    const config = await loadConfigFile(await tempFile("env.yaml", yaml), env);
    expect(config.workers).toBe(4);
    expect(config.playground).toBe(false);
    expect(config.events.providers.nats[0]).toEqual({
      id: "default",
      url: "nats://nats:4222",
      authentication: { token: "123" },
    });
    expect(config.events.providers.kafka[0]?.tls).toEqual({ enabled: true });
  });

  it("does not convert strings written literally in the file", async () => {
    const err = await loadError(await tempFile("lit.yaml", 'workers: "4"\n'));
    expect(err.problems).toEqual([
      expect.stringMatching(/: workers: must be an integer >= 1 or "auto" \(got "4"\)$/),
    ]);
  });

  it("reports an unset variable once, with path and name", async () => {
    const path = await tempFile(
      "unset.yaml",
      "listen_addr: ${ADDR}\nevents:\n  providers:\n    redis:\n      - id: r\n        urls: ['${REDIS_URL}']\n",
    );
    const err = await loadError(path);
    expect(err.problems).toEqual([
      `${path}: listen_addr: environment variable ADDR is not set`,
      `${path}: events.providers.redis[0].urls[0]: environment variable REDIS_URL is not set`,
    ]);
  });
});

describe("configFromObject", () => {
  it("returns a deeply frozen config", () => {
    const config = configFromObject({
      subgraphs: [{ name: "a", schema: "type Query { a: Int }" }],
      events: { providers: { nats: [{ id: "n", url: "memory://" }] } },
    });
    expect(Object.isFrozen(config)).toBe(true);
    const mutable = config as unknown as {
      workers: number;
      limits: { max_message_size: number };
      subgraphs: unknown[];
      events: { providers: { nats: { url: string }[] } };
    };
    expect(() => {
      mutable.workers = 8;
    }).toThrow(TypeError);
    expect(() => {
      mutable.limits.max_message_size = 1;
    }).toThrow(TypeError);
    expect(() => {
      mutable.subgraphs.push({ name: "b" });
    }).toThrow(TypeError);
    expect(() => {
      mutable.events.providers.nats[0]!.url = "nats://x:1";
    }).toThrow(TypeError);
  });

  it("does not modify the object passed in", () => {
    const input = { limits: { connection_init_timeout: "2s" } };
    const config = configFromObject(input);
    expect(config.limits.connection_init_timeout).toBe(2_000);
    expect(input).toEqual({ limits: { connection_init_timeout: "2s" } });
  });

  it("applies defaults inside providers", () => {
    const config = configFromObject({
      events: {
        providers: {
          kafka: [
            {
              id: "k",
              brokers: ["memory://"],
              authentication: { sasl_scram: { username: "u", password: "p" } },
            },
          ],
          redis: [{ id: "r", urls: ["memory://"] }],
        },
      },
    });
    expect(config.events.providers.kafka[0]).toEqual({
      id: "k",
      brokers: ["memory://"],
      authentication: { sasl_scram: { username: "u", password: "p", mechanism: "SCRAM-SHA-512" } },
      fetch_max_wait: 100,
    });
    expect(config.events.providers.redis[0]).toEqual({
      id: "r",
      urls: ["memory://"],
      cluster_enabled: false,
    });
  });

  it("resolves schema_file against baseDir and makes source absolute", () => {
    const config = configFromObject(
      { subgraphs: [{ name: "a", schema_file: "a.graphql" }] },
      { source: "some/router.yaml", baseDir: "/srv/conf" },
    );
    expect(config.subgraphs[0]?.schema_file).toBe("/srv/conf/a.graphql");
    expect(config.source).toBe(join(process.cwd(), "some", "router.yaml"));
  });

  it("leaves source undefined for an inline object", () => {
    expect(configFromObject({}).source).toBeUndefined();
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
