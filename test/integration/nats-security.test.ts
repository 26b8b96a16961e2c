/**
 * The NATS provider against real nats-servers set up as production ones are: TLS, mutual TLS,
 * NKey users with subject permissions (config-file accounts), decentralized auth with a .creds
 * file (operator mode, memory resolver), and several server URLs. Each refusal (wrong CA, wrong
 * client certificate, wrong credential, a subject outside the permissions) is checked to fail
 * fast and typed, without taking the provider or its other subscriptions down.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsProviderConfig } from "../../src/config/types.js";
import { ErrorCode } from "../../src/errors.js";
import { NatsProvider } from "../../src/providers/nats/provider.js";
import { bytes, Collector, randomPrefix } from "../conformance/collector.js";
import { runProviderConformance } from "../conformance/provider-suite.js";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { type NkeyUser, nkeyAccountsConfig, nkeyUser, operatorSetup } from "../helpers/brokers/nats-auth.js";
import { freePort } from "../helpers/brokers/net.js";
import { makePki, type TestPki } from "../helpers/brokers/tls.js";

const PERMISSIONS = { publish: ["allowed.>"], subscribe: ["allowed.>", "_INBOX.>"] };

let pki: TestPki;
let user: NkeyUser;
/** TLS (server certificate only) and NKey users with permissions. */
let tlsServer: NatsServer;
/** Mutual TLS: the server verifies client certificates against the CA. */
let mtlsServer: NatsServer;
const providers: NatsProvider[] = [];

const tlsBlock = (verify: boolean) => `tls {
  cert_file: "${pki.serverCert}"
  key_file: "${pki.serverKey}"
  ca_file: "${pki.ca}"
  verify: ${verify}
  timeout: 2
}
`;

beforeAll(async () => {
  pki = await makePki();
  user = nkeyUser();
  const accounts = nkeyAccountsConfig([{ user, permissions: PERMISSIONS }]);
  tlsServer = await startNats({ config: tlsBlock(false) + accounts });
  mtlsServer = await startNats({ config: tlsBlock(true) + accounts });
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.stop()));
  await tlsServer?.stop();
  await mtlsServer?.stop();
  await pki?.remove();
});

/** A provider that the afterAll stops. */
function provider(config: Omit<NatsProviderConfig, "id">, id = "sec"): NatsProvider {
  const p = new NatsProvider({ id, ...config }, { connectTimeoutMs: 1500 });
  providers.push(p);
  return p;
}

const mtls = () => ({ ca_file: pki.ca, cert_file: pki.clientCert, key_file: pki.clientKey });

/** Subscribes, publishes through the provider itself, and waits for the event. */
async function roundTrip(p: NatsProvider): Promise<void> {
  const topic = `allowed.${randomPrefix()}`;
  const c = new Collector();
  await p.subscribe([topic], c.handler);
  await p.publish(topic, bytes("hi"));
  await c.waitForText("hi");
}

runProviderConformance("nats over mutual TLS with an NKey user", async () => {
  const p = new NatsProvider({
    id: "mtls",
    url: `tls://127.0.0.1:${mtlsServer.port}`,
    tls: mtls(),
    authentication: { nkey_seed: user.seed },
  });
  await p.start();
  return {
    provider: p,
    topicPrefix: `allowed.${randomPrefix()}`,
    cleanup: () => p.stop(),
  };
});

describe("NATS TLS", () => {
  it("connects with the CA file, and refuses a server whose CA it does not trust", async () => {
    const ok = provider({
      url: `nats://127.0.0.1:${tlsServer.port}`,
      tls: { ca_file: pki.ca },
      authentication: { nkey_seed: user.seed },
    });
    await ok.start();
    await roundTrip(ok);
    const untrusted = provider({
      url: `nats://127.0.0.1:${tlsServer.port}`,
      tls: { ca_file: pki.rogueCa },
      authentication: { nkey_seed: user.seed },
    });
    const t0 = Date.now();
    await expect(untrusted.start()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(untrusted.health().detail).toMatch(/certificate/i);
    // The other provider is untouched.
    await roundTrip(ok);
  });

  it("with insecure_skip_verify, connects to a server it cannot verify", async () => {
    const p = provider({
      url: `tls://127.0.0.1:${tlsServer.port}`,
      tls: { insecure_skip_verify: true },
      authentication: { nkey_seed: user.seed },
    });
    await p.start();
    await roundTrip(p);
  });

  it("mutual TLS: a client certificate of another CA, or none, is refused", async () => {
    const url = `nats://127.0.0.1:${mtlsServer.port}`;
    const auth = { nkey_seed: user.seed };
    const rogue = provider({
      url,
      tls: { ca_file: pki.ca, cert_file: pki.rogueCert, key_file: pki.rogueKey },
      authentication: auth,
    });
    const none = provider({ url, tls: { ca_file: pki.ca }, authentication: auth });
    for (const p of [rogue, none]) {
      await expect(p.start()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
      expect(p.health().connected).toBe(false);
    }
  });

  it("tries every server of a comma-separated URL list", async () => {
    const dead = await freePort();
    const p = provider({
      url: `tls://127.0.0.1:${dead}, tls://127.0.0.1:${mtlsServer.port}`,
      tls: mtls(),
      authentication: { nkey_seed: user.seed },
    });
    await p.start();
    await roundTrip(p);
  });
});

describe("NATS permissions", () => {
  it("rejects only the subscription outside the user's permissions; the rest goes on", async () => {
    const p = provider({
      url: `nats://127.0.0.1:${mtlsServer.port}`,
      tls: mtls(),
      authentication: { nkey_seed: user.seed },
    });
    await p.start();
    const ok = new Collector();
    const prefix = randomPrefix();
    await p.subscribe([`allowed.${prefix}`], ok.handler);
    const err = await p.subscribe([`secret.${prefix}`], () => undefined).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: ErrorCode.PROVIDER_PERMISSION_DENIED,
      message: expect.stringContaining(`may not subscribe to "secret.${prefix}"`),
    });
    // One subscribe() naming an allowed and a refused subject fails as a whole.
    await expect(
      p.subscribe([`allowed.${prefix}.b`, `secret.${prefix}.b`], () => undefined),
    ).rejects.toMatchObject({ code: ErrorCode.PROVIDER_PERMISSION_DENIED });
    await expect(p.publish(`secret.${prefix}`, bytes("x"))).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_PERMISSION_DENIED,
    });
    expect(p.health().connected).toBe(true);
    await p.publish(`allowed.${prefix}`, bytes("still"));
    await ok.waitForText("still");
  });

  it("refuses a wrong NKey seed fast", async () => {
    const p = provider({
      url: `nats://127.0.0.1:${mtlsServer.port}`,
      tls: mtls(),
      authentication: { nkey_seed: nkeyUser().seed },
    });
    const t0 = Date.now();
    await expect(p.start()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("NATS credentials file (operator mode)", () => {
  let server: NatsServer;
  let dir: string;
  beforeAll(async () => {
    const setup = await operatorSetup(PERMISSIONS);
    server = await startNats({ config: setup.serverConfig });
    dir = pki.dir;
    await writeFile(join(dir, "router.creds"), setup.creds);
    await writeFile(join(dir, "stranger.creds"), setup.strangerCreds);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("connects with the user's .creds and keeps its permissions", async () => {
    const p = provider({
      url: server.url,
      authentication: { credentials_file: join(dir, "router.creds") },
    });
    await p.start();
    await roundTrip(p);
    await expect(p.subscribe(["secret.x"], () => undefined)).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_PERMISSION_DENIED,
    });
  });

  it("refuses a user of an account the server does not know", async () => {
    const p = provider({
      url: server.url,
      authentication: { credentials_file: join(dir, "stranger.creds") },
    });
    await expect(p.start()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
    expect(p.health().detail).toMatch(/authorization/i);
  });
});
