/**
 * The Redis provider against a real redis-server that speaks only TLS, requires client
 * certificates (mutual TLS) and knows only ACL users whose channels are restricted: delivery, and
 * the refusal of a wrong CA, a wrong client certificate, a wrong password and a channel outside
 * the user's permissions, each without taking the provider or its other subscriptions down.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RedisProviderConfig } from "../../src/config/types.js";
import { ErrorCode } from "../../src/errors.js";
import { RedisProvider } from "../../src/providers/redis/provider.js";
import { bytes, Collector, randomPrefix } from "../conformance/collector.js";
import { runProviderConformance } from "../conformance/provider-suite.js";
import { type RedisServer, startRedis } from "../helpers/brokers/redis.js";
import { makePki, type TestPki } from "../helpers/brokers/tls.js";

const PASSWORD = "r3dis-Pass";
let pki: TestPki;
let server: RedisServer;
const providers: RedisProvider[] = [];

beforeAll(async () => {
  pki = await makePki();
  server = await startRedis({
    tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, clientCerts: true },
    users: [["router", "on", `>${PASSWORD}`, "~*", "resetchannels", "&allowed.*", "+@all"]],
  });
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.stop()));
  await server?.stop();
  await pki?.remove();
});

const url = (password = PASSWORD) => `rediss://router:${password}@127.0.0.1:${server.port}`;
const mtls = () => ({ ca_file: pki.ca, cert_file: pki.clientCert, key_file: pki.clientKey });

function provider(config: Omit<RedisProviderConfig, "id" | "cluster_enabled">): RedisProvider {
  const p = new RedisProvider({ id: "sec", cluster_enabled: false, ...config }, { connectTimeoutMs: 1500 });
  providers.push(p);
  return p;
}

runProviderConformance("redis over mutual TLS with an ACL user", async () => {
  const p = new RedisProvider({ id: "tls", urls: [url()], cluster_enabled: false, tls: mtls() });
  await p.start();
  return { provider: p, topicPrefix: `allowed.${randomPrefix()}`, cleanup: () => p.stop() };
});

describe("Redis TLS and ACL", () => {
  it("refuses an untrusted server, a client certificate of another CA, and a wrong password", async () => {
    const cases = [
      provider({
        urls: [url()],
        tls: { ca_file: pki.rogueCa, cert_file: pki.clientCert, key_file: pki.clientKey },
      }),
      provider({ urls: [url()], tls: { ca_file: pki.ca, cert_file: pki.rogueCert, key_file: pki.rogueKey } }),
      provider({ urls: [url("wrong")], tls: mtls() }),
    ];
    for (const p of cases) {
      const t0 = Date.now();
      await expect(p.start()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(p.health().connected).toBe(false);
      expect(p.health().detail).not.toContain("wrong");
    }
  });

  it("rejects only the subscription outside the user's channels; the rest goes on", async () => {
    const p = provider({ urls: [url()], tls: mtls() });
    await p.start();
    const prefix = randomPrefix();
    const ok = new Collector();
    await p.subscribe([`allowed.${prefix}`], ok.handler);
    const err = await p.subscribe([`secret.${prefix}`], () => undefined).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: ErrorCode.PROVIDER_PERMISSION_DENIED,
      message: expect.stringContaining(`may not subscribe to "secret.${prefix}"`),
    });
    await expect(p.publish(`secret.${prefix}`, bytes("x"))).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_PERMISSION_DENIED,
    });
    expect(p.health().connected).toBe(true);
    await p.publish(`allowed.${prefix}`, bytes("still"));
    await ok.waitForText("still");
  });

  it("reads the CA, certificate and key files named in tls", async () => {
    const p = provider({ urls: [url()], tls: { ...mtls(), ca_file: `${pki.dir}/missing.pem` } });
    await expect(p.start()).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_CREDENTIALS_INVALID,
      message: expect.stringContaining("tls.ca_file"),
    });
    expect(p.health().detail).toContain("missing.pem");
  });
});
