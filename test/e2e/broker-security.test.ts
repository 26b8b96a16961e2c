/**
 * End to end through the built router, production broker links: NATS over mutual TLS with an
 * NKey user (seed from the environment), NATS with a .creds file (operator mode), Redis over
 * mutual TLS with an ACL user (password from the environment), plus two NATS providers that the
 * servers refuse (a client certificate of another CA, a wrong NKey seed). Events published at the
 * brokers reach graphql-ws clients; a subscription outside the account's permissions ends with a
 * typed error while the others go on; /health/ready names the refused providers; nothing the
 * config holds as a secret appears anywhere in the router's output, nor in --check-config's.
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect, credsAuthenticator, type NatsConnection, nkeyAuthenticator } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import {
  type NkeyUser,
  nkeyAccountsConfig,
  nkeyUser,
  type OperatorSetup,
  operatorSetup,
} from "../helpers/brokers/nats-auth.js";
import { type RedisServer, startRedis } from "../helpers/brokers/redis.js";
import { makePki, type TestPki } from "../helpers/brokers/tls.js";
import { type Collected, collect, wsClient } from "../helpers/clients.js";
import { type RunningRouter, runCli, startRouterProcess, tempFiles } from "../helpers/router.js";

const PERMISSIONS = { publish: ["allowed.>"], subscribe: ["allowed.>", "_INBOX.>"] };
const REDIS_PASSWORD = "Redis-pw-8a1f";

const SDL = `
type Subscription {
  secure(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["allowed.{{ args.id }}"], providerId: "secure")
  secret(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["secret.{{ args.id }}"], providerId: "secure")
  creds(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["allowed.creds.{{ args.id }}"], providerId: "creds")
  redis(id: ID!): Employee! @edfs__redisSubscribe(channels: ["allowed.{{ args.id }}"], providerId: "redis")
  redisSecret(id: ID!): Employee! @edfs__redisSubscribe(channels: ["secret.{{ args.id }}"], providerId: "redis")
  refused(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["allowed.{{ args.id }}"], providerId: "badcert")
}
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

let pki: TestPki;
let user: NkeyUser;
let badUser: NkeyUser;
let operator: OperatorSetup;
let mtlsNats: NatsServer;
let credsNats: NatsServer;
let redis: RedisServer;
let router: RunningRouter;
let dir: string;
let configYaml: string;
let env: Record<string, string>;

beforeAll(async () => {
  pki = await makePki();
  user = nkeyUser();
  badUser = nkeyUser();
  operator = await operatorSetup(PERMISSIONS);
  const tls = `tls {\n  cert_file: "${pki.serverCert}"\n  key_file: "${pki.serverKey}"\n  ca_file: "${pki.ca}"\n  verify: true\n}\n`;
  [mtlsNats, credsNats, redis] = await Promise.all([
    startNats({ config: tls + nkeyAccountsConfig([{ user, permissions: PERMISSIONS }]) }),
    startNats({ config: operator.serverConfig }),
    startRedis({
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, clientCerts: true },
      users: [["router", "on", `>${REDIS_PASSWORD}`, "~*", "resetchannels", "&allowed.*", "+@all"]],
    }),
  ]);
  const files = `{ ca_file: ./ca.pem, cert_file: ./client.pem, key_file: ./client-key.pem }`;
  configYaml = `listen_addr: 127.0.0.1:0
shutdown_grace_period: 2s
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  skip_unavailable_providers: true
  providers:
    nats:
      - id: secure
        url: tls://127.0.0.1:${mtlsNats.port}
        tls: ${files}
        authentication: { nkey_seed: "\${NATS_NKEY_SEED}" }
      - id: creds
        url: nats://127.0.0.1:${credsNats.port}
        authentication: { credentials_file: ./router.creds }
      - id: badcert
        url: tls://127.0.0.1:${mtlsNats.port}
        tls: { ca_file: ./ca.pem, cert_file: ./rogue.pem, key_file: ./rogue-key.pem }
        authentication: { nkey_seed: "\${NATS_NKEY_SEED}" }
      - id: badseed
        url: tls://127.0.0.1:${mtlsNats.port}
        tls: ${files}
        authentication: { nkey_seed: "\${BAD_NKEY_SEED}" }
    redis:
      - id: redis
        urls: ["rediss://router:\${REDIS_PASSWORD}@127.0.0.1:${redis.port}"]
        tls: ${files}
`;
  dir = await tempFiles({ "events.graphql": SDL, "config.yaml": configYaml, "router.creds": operator.creds });
  for (const [name, from] of [
    ["ca.pem", pki.ca],
    ["client.pem", pki.clientCert],
    ["client-key.pem", pki.clientKey],
    ["rogue.pem", pki.rogueCert],
    ["rogue-key.pem", pki.rogueKey],
  ] as const) {
    await writeFile(join(dir, name), readFileSync(from));
  }
  env = { NATS_NKEY_SEED: user.seed, BAD_NKEY_SEED: badUser.seed, REDIS_PASSWORD };
  router = await startRouterProcess(["--config", join(dir, "config.yaml"), "--log-level", "debug"], env);
});

afterAll(async () => {
  const code = await router?.stop();
  await Promise.all([mtlsNats?.stop(), credsNats?.stop(), redis?.stop()]);
  await pki?.remove();
  expect(code).toBe(0);
});

/** Every secret the config holds, directly or in the files it names. */
function secrets(): string[] {
  const keyBody = (file: string) =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("-----"));
  return [
    user.seed,
    badUser.seed,
    REDIS_PASSWORD,
    operator.userSeed,
    operator.userJwt,
    ...keyBody(pki.clientKey),
    ...keyBody(pki.rogueKey),
  ];
}

/** Publishes `body` with `publish` until the subscriber has a value. */
async function until(c: Collected, publish: () => unknown): Promise<void> {
  await vi.waitFor(
    async () => {
      if (c.values.length === 0) {
        await publish();
        throw new Error("no event yet");
      }
    },
    { timeout: 10_000, interval: 200 },
  );
}

describe("router on production broker links", () => {
  let nc: NatsConnection;
  let credsNc: NatsConnection;
  let redisPub: Redis;
  const enc = new TextEncoder();
  beforeAll(async () => {
    nc = await connect({
      servers: `127.0.0.1:${mtlsNats.port}`,
      tls: { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey },
      authenticator: nkeyAuthenticator(enc.encode(user.seed)),
    });
    credsNc = await connect({
      servers: credsNats.url,
      authenticator: credsAuthenticator(enc.encode(operator.creds)),
    });
    redisPub = new Redis(`rediss://router:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`, {
      tls: { ca: readFileSync(pki.ca), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) },
    });
  });
  afterAll(async () => {
    await nc?.close();
    await credsNc?.close();
    redisPub?.disconnect();
  });

  it("is ready except for the providers the servers refused, and says which", async () => {
    await vi.waitFor(
      async () => {
        const res = await fetch(`${router.http}/health/ready`);
        const body = (await res.json()) as { providers_down: { id: string; detail: string }[] };
        expect(res.status).toBe(503);
        expect(body.providers_down.map((p) => p.id).sort()).toEqual(["badcert", "badseed"]);
      },
      { timeout: 10_000, interval: 200 },
    );
  });

  it("delivers over mutual TLS + NKey, over a .creds link and over Redis TLS + ACL", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const secure = collect(client, 'subscription { secure(id: "1") { id } }');
    const creds = collect(client, 'subscription { creds(id: "2") { id } }');
    const red = collect(client, 'subscription { redis(id: "3") { id } }');
    const event = (id: string) => enc.encode(JSON.stringify({ __typename: "Employee", id }));
    await until(secure, () => nc.publish("allowed.1", event("1")));
    await until(creds, () => credsNc.publish("allowed.creds.2", event("2")));
    await until(red, () =>
      redisPub.publish("allowed.3", JSON.stringify({ __typename: "Employee", id: "3" })),
    );
    expect(secure.values[0]).toEqual({ data: { secure: { id: "1" } } });
    expect(creds.values[0]).toEqual({ data: { creds: { id: "2" } } });
    expect(red.values[0]).toEqual({ data: { redis: { id: "3" } } });
    await client.dispose();
  });

  it("ends only the subscription outside the account's permissions, with a code saying so", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const ok = collect(client, 'subscription { secure(id: "5") { id } }');
    const denied = collect(client, 'subscription { secret(id: "5") { id } }');
    const redisDenied = collect(client, 'subscription { redisSecret(id: "5") { id } }');
    await vi.waitFor(() => expect(denied.errors.length + redisDenied.errors.length).toBe(2), {
      timeout: 10_000,
    });
    for (const c of [denied, redisDenied]) {
      expect(JSON.stringify(c.errors[0])).toContain("SG_ERR_PROVIDER_PERMISSION_DENIED");
      expect(JSON.stringify(c.errors[0])).toContain("may not subscribe");
    }
    await until(ok, () =>
      nc.publish("allowed.5", enc.encode(JSON.stringify({ __typename: "Employee", id: "5" }))),
    );
    expect((await fetch(`${router.http}/health/live`)).status).toBe(200);
    await client.dispose();
  });

  it("writes no secret of its config to its output", async () => {
    const out = router.output();
    expect(out).toContain("provider unavailable"); // the refused providers were logged...
    for (const s of secrets()) expect(out).not.toContain(s); // ...without a secret
  });
});

describe("--check-config with production broker links", () => {
  it("accepts the files, and lists every unusable one without showing a secret", async () => {
    const ok = await runCli(["--check-config", "--config", join(dir, "config.yaml")], env);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    await writeFile(join(dir, "expired.pem"), readFileSync(pki.expiredCert));
    await writeFile(join(dir, "garbage.creds"), `${operator.userSeed}\n`);
    const broken = configYaml
      .replace("cert_file: ./rogue.pem", "cert_file: ./expired.pem")
      .replace("./router.creds", "./garbage.creds")
      .replace(
        "ca_file: ./ca.pem, cert_file: ./client.pem",
        "ca_file: ./missing-ca.pem, cert_file: ./client.pem",
      );
    await writeFile(join(dir, "broken.yaml"), broken);
    const r = await runCli(["--check-config", "--config", join(dir, "broken.yaml")], env);
    expect(r.code).toBe(1);
    for (const path of [
      "events.providers.nats[0].tls.ca_file",
      "events.providers.nats[1].authentication.credentials_file",
      "events.providers.nats[2].tls.cert_file",
      "events.providers.nats[2].tls.key_file",
    ]) {
      expect(r.stderr).toContain(path);
    }
    expect(r.stderr).toContain("missing-ca.pem: file not found");
    expect(r.stderr).toContain("expired on 2020-01-02");
    expect(r.stderr).toContain("not a NATS credentials file");
    for (const s of secrets()) expect(r.stdout + r.stderr).not.toContain(s);
  });
});
