/**
 * A worker takes the config the primary validated without validating it again
 * (src/config/frozen.ts). That is only sound if the loaded config survives the structured clone
 * to the worker unchanged and loading it again would give the same thing.
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { trustedConfig } from "../../../src/config/frozen.js";
import { configFromObject, loadConfigFile, withoutSource } from "../../../src/config/loader.js";

const CONFIG_DIR = resolve(import.meta.dirname, "../../../config");
const examples = readdirSync(CONFIG_DIR).filter((f) => /\.(ya?ml|json)$/.test(f));

describe("trustedConfig (a worker's config)", () => {
  it("has example configs to check", () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it.each(examples)(
    "%s: cloned to a worker, equals the primary's config, revalidated or not",
    async (name) => {
      const env = { NATS_TOKEN: "s3cret" };
      const loaded = await loadConfigFile(join(CONFIG_DIR, name), env);
      const sent = withoutSource(loaded);
      const received = trustedConfig(structuredClone(sent));
      expect(received).toEqual(sent);
      expect(received).toEqual(withoutSource(configFromObject(structuredClone(sent), { env: {} })));
      expect(Object.isFrozen(received)).toBe(true);
      expect(Object.isFrozen(received.limits)).toBe(true);
    },
  );

  it("a config with every section set survives the clone unchanged", () => {
    const loaded = configFromObject(
      {
        workers: 2,
        subgraphs: [{ name: "a", routing_url: "http://127.0.0.1:4001/graphql", schema_file: "a.graphql" }],
        events: { providers: { nats: [{ id: "n", url: "nats://127.0.0.1:4222" }] } },
        limits: { max_connections: 10, connection_init_timeout: "3s" },
        modules: ["./hooks.mjs"],
      },
      { env: {}, baseDir: "/etc/streamgate" },
    );
    const received = trustedConfig(structuredClone(withoutSource(loaded)));
    expect(received.limits.connection_init_timeout).toBe(3000);
    expect(received.modules).toEqual(["/etc/streamgate/hooks.mjs"]);
    expect(received.subgraphs[0]!.schema_file).toBe("/etc/streamgate/a.graphql");
    expect(received).toEqual(withoutSource(loaded));
  });
});
