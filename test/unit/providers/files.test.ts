import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventsConfig } from "../../../src/config/types.js";
import { checkProviderFiles } from "../../../src/providers/files.js";
import { nkeyUser, operatorSetup } from "../../helpers/brokers/nats-auth.js";
import { makePki, type TestPki } from "../../helpers/brokers/tls.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await makePki();
});
afterAll(async () => {
  await pki?.remove();
});

const events = (providers: Partial<EventsConfig["providers"]>): EventsConfig => ({
  skip_unavailable_providers: false,
  providers: { nats: [], kafka: [], redis: [], ...providers },
});

describe("checkProviderFiles", () => {
  it("accepts good TLS files and a good .creds file", async () => {
    const setup = await operatorSetup({ publish: [">"], subscribe: [">"] });
    const creds = join(pki.dir, "ok.creds");
    await writeFile(creds, setup.creds);
    const tls = { ca_file: pki.ca, cert_file: pki.clientCert, key_file: pki.clientKey };
    expect(
      checkProviderFiles(
        events({
          nats: [{ id: "n", url: "tls://h:4222", tls, authentication: { credentials_file: creds } }],
          redis: [{ id: "r", urls: ["rediss://h:6380"], cluster_enabled: false, tls }],
          kafka: [{ id: "k", brokers: ["h:9093"], fetch_max_wait: 100, tls: { enabled: true, ...tls } }],
        }),
      ),
    ).toEqual([]);
  });

  it("says which file is missing, a directory, not PEM, expired, or not the key of its certificate", async () => {
    const notPem = join(pki.dir, "not.pem");
    await writeFile(notPem, "hello\n");
    const problems = checkProviderFiles(
      events({
        nats: [
          {
            id: "n",
            url: "tls://h:4222",
            tls: { ca_file: join(pki.dir, "nope.pem"), cert_file: pki.expiredCert, key_file: pki.clientKey },
          },
        ],
        redis: [
          {
            id: "r",
            urls: ["rediss://h:6380"],
            cluster_enabled: false,
            tls: { ca_file: pki.dir, cert_file: notPem, key_file: notPem },
          },
        ],
      }),
    );
    expect(problems).toEqual([
      {
        path: "events.providers.nats[0].tls.ca_file",
        message: `${join(pki.dir, "nope.pem")}: file not found`,
      },
      {
        path: "events.providers.nats[0].tls.cert_file",
        message: `${pki.expiredCert}: certificate "CN=router" expired on 2020-01-02T00:00:00.000Z`,
      },
      {
        path: "events.providers.nats[0].tls.key_file",
        message: `${pki.clientKey}: does not match cert_file`,
      },
      { path: "events.providers.redis[0].tls.ca_file", message: `${pki.dir}: is a directory, not a file` },
      {
        path: "events.providers.redis[0].tls.cert_file",
        message: `${notPem}: not a PEM certificate (no BEGIN CERTIFICATE block)`,
      },
      {
        path: "events.providers.redis[0].tls.key_file",
        message: `${notPem}: not a PEM private key (no BEGIN ... PRIVATE KEY block)`,
      },
    ]);
  });

  it("checks a .creds file: blocks, seed kind, JWT expiry; never quotes its content", async () => {
    const setup = await operatorSetup({ publish: [">"], subscribe: [">"] });
    const noSeed = join(pki.dir, "noseed.creds");
    await writeFile(noSeed, setup.creds.replace(/-----BEGIN USER NKEY SEED[\s\S]*$/, ""));
    const accountSeed = join(pki.dir, "account.creds");
    const account = `SAAJ${"A".repeat(54)}`;
    await writeFile(accountSeed, setup.creds.replace(setup.userSeed, account));
    const expired = join(pki.dir, "expired.creds");
    const [head, , sig] = setup.userJwt.split(".");
    const claims = { exp: 1_577_836_800, nats: { type: "user" } };
    const oldJwt = `${head}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${sig}`;
    await writeFile(expired, setup.creds.replace(setup.userJwt, oldJwt));
    const seedFile = join(pki.dir, "seed.txt");
    await writeFile(seedFile, nkeyUser().seed);
    const problems = checkProviderFiles(
      events({
        nats: [noSeed, accountSeed, expired, seedFile].map((f, i) => ({
          id: `n${i}`,
          url: "nats://h:4222",
          authentication: { credentials_file: f },
        })),
      }),
    );
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      `events.providers.nats[0].authentication.credentials_file: ${noSeed}: not a NATS credentials file: it needs a "BEGIN NATS USER JWT" and a "BEGIN USER NKEY SEED" block (no seed found)`,
      expect.stringMatching(
        /^events.providers.nats\[1\].authentication.credentials_file: .*: the NKey seed (in it is not valid|is not a user seed)/,
      ),
      `events.providers.nats[2].authentication.credentials_file: ${expired}: the user JWT expired on 2020-01-01T00:00:00.000Z`,
      `events.providers.nats[3].authentication.credentials_file: ${seedFile}: not a NATS credentials file: it needs a "BEGIN NATS USER JWT" and a "BEGIN USER NKEY SEED" block (no JWT found)`,
    ]);
    const text = problems.map((p) => p.message).join("\n");
    expect(text).not.toContain(setup.userSeed);
    expect(text).not.toContain(readFileSync(seedFile, "utf8"));
  });
});
