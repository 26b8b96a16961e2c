import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { defaultConfig, loadConfigFile } from "../../../src/config/loader.js";
import { StreamgateAggregateError } from "../../../src/errors.js";

const EXAMPLE = fileURLToPath(new URL("../../../config/streamgate.example.yaml", import.meta.url));

describe("config/streamgate.example.yaml", () => {
  it("loads, with its environment variables set", async () => {
    const config = await loadConfigFile(EXAMPLE, { NATS_TOKEN: "s3cret" });
    expect(config.source).toBe(EXAMPLE);
    expect(config.events.providers.nats[0]?.authentication).toEqual({ token: "s3cret" });
    expect(config.subgraphs.map((s) => s.name)).toEqual(["employees", "events", "inline"]);
    expect(config.subgraphs[0]?.schema_file).toBe(
      fileURLToPath(new URL("../../../config/employees.graphql", import.meta.url)),
    );
    expect(config.events.providers.kafka[0]?.fetch_max_wait).toBe(100);
    // TLS and credentials files are resolved against the config file's folder.
    const certs = fileURLToPath(new URL("../../../config/certs/", import.meta.url));
    expect(config.events.providers.nats[1]).toMatchObject({
      id: "edge",
      tls: { ca_file: `${certs}ca.pem`, cert_file: `${certs}router.pem`, key_file: `${certs}router-key.pem` },
      authentication: { credentials_file: `${certs}router.creds` },
    });
    expect(config.events.providers.redis[1]?.tls?.ca_file).toBe(`${certs}ca.pem`);
    expect(config.events.providers.nats[0]?.health).toEqual({ max_lag: 10000 });
  });

  it("shows every default: only subgraphs and providers differ from an empty config", async () => {
    const { subgraphs, events, source, ...rest } = await loadConfigFile(EXAMPLE, { NATS_TOKEN: "t" });
    const { subgraphs: _s, events: defaultEvents, ...defaults } = defaultConfig();
    expect(rest).toEqual(defaults);
    expect(events.skip_unavailable_providers).toBe(defaultEvents.skip_unavailable_providers);
  });

  it("refuses to load without NATS_TOKEN", async () => {
    const err = await loadConfigFile(EXAMPLE, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamgateAggregateError);
    expect((err as StreamgateAggregateError).problems).toEqual([
      `${EXAMPLE}: events.providers.nats[0].authentication.token: environment variable NATS_TOKEN is not set`,
    ]);
  });
});
