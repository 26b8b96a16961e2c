/**
 * Kafka TLS and SASL OAUTHBEARER, as far as this machine can run them. librdkafka's mock cluster
 * (the Kafka broker of the other tests) speaks neither TLS nor SASL, so:
 * - TLS: the provider's librdkafka clients connect to a NAMED MOCK, a node:tls server that requires
 *   a client certificate (mutual TLS) and then closes. It shows the handshake librdkafka makes from
 *   the generated configuration: the server's certificate verified against ca_file, the client
 *   certificate sent, a wrong CA or a wrong client certificate refused. No Kafka request is
 *   served over TLS here.
 * - OAUTHBEARER: librdkafka's OIDC client fetches a token from a real HTTP token endpoint (this
 *   test's); the SASL exchange with a broker is not run (the mock cluster refuses SASL).
 * Each case also shows that a refused connection fails start() with a typed error, fast.
 */
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { createServer as createTlsServer, type Server, type TLSSocket } from "node:tls";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaProviderConfig } from "../../src/config/types.js";
import { ErrorCode } from "../../src/errors.js";
import { KafkaProvider } from "../../src/providers/kafka/provider.js";
import { waitFor } from "../conformance/collector.js";
import { type KafkaBroker, startKafka } from "../helpers/brokers/kafka.js";
import { makePki, type TestPki } from "../helpers/brokers/tls.js";

let pki: TestPki;
/** Mock TLS endpoint standing in for a TLS Kafka listener (see the module comment). */
let tlsMock: Server;
let tlsPort: number;
/** Client certificates the mock accepted (CN), and handshakes it refused. */
const accepted: string[] = [];
const refused: string[] = [];

beforeAll(async () => {
  pki = await makePki();
  tlsMock = createTlsServer(
    {
      cert: readFileSync(pki.serverCert),
      key: readFileSync(pki.serverKey),
      ca: readFileSync(pki.ca),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket: TLSSocket) => {
      accepted.push(String(socket.getPeerCertificate().subject?.CN));
      socket.destroy();
    },
  );
  tlsMock.on("tlsClientError", (err) => refused.push(err.message));
  await new Promise<void>((resolve) => tlsMock.listen(0, "127.0.0.1", resolve));
  tlsPort = (tlsMock.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => tlsMock?.close(r));
  await pki?.remove();
});

async function startFails(config: Omit<KafkaProviderConfig, "id" | "fetch_max_wait">): Promise<void> {
  const p = new KafkaProvider({ id: "tls", fetch_max_wait: 100, ...config }, { connectTimeoutMs: 1500 });
  try {
    const t0 = Date.now();
    await expect(p.start()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(p.health().connected).toBe(false);
  } finally {
    await p.stop();
  }
}

describe("Kafka TLS handshake (mock TLS endpoint)", () => {
  it("verifies the server against ca_file and presents the client certificate", async () => {
    const before = accepted.length;
    await startFails({
      brokers: [`localhost:${tlsPort}`],
      tls: { enabled: true, ca_file: pki.ca, cert_file: pki.clientCert, key_file: pki.clientKey },
    });
    await waitFor(() => accepted.length > before, "a verified mutual TLS handshake");
    expect(accepted.slice(before).every((cn) => cn === "router")).toBe(true);
  });

  it("sends no accepted handshake with a client certificate of another CA", async () => {
    const before = { accepted: accepted.length, refused: refused.length };
    await startFails({
      brokers: [`localhost:${tlsPort}`],
      tls: { enabled: true, ca_file: pki.ca, cert_file: pki.rogueCert, key_file: pki.rogueKey },
    });
    await waitFor(() => refused.length > before.refused, "the mock to refuse the certificate");
    expect(accepted.length).toBe(before.accepted);
  });

  it("does not trust a server whose certificate its ca_file did not sign", async () => {
    const before = { accepted: accepted.length, refused: refused.length };
    await startFails({
      brokers: [`localhost:${tlsPort}`],
      tls: { enabled: true, ca_file: pki.rogueCa, cert_file: pki.clientCert, key_file: pki.clientKey },
    });
    // librdkafka aborts the handshake (unknown CA alert), which the mock sees as a client error.
    await waitFor(() => refused.length > before.refused, "librdkafka to abort the handshake");
    expect(accepted.length).toBe(before.accepted);
  });

  it("fails start with librdkafka's reason when a TLS file cannot be used", async () => {
    const p = new KafkaProvider({
      id: "badfile",
      fetch_max_wait: 100,
      brokers: [`localhost:${tlsPort}`],
      tls: { enabled: true, ca_file: `${pki.dir}/missing.pem` },
    });
    try {
      const err = await p.start().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
      expect(p.health().detail).toMatch(/ssl|ca/i);
    } finally {
      await p.stop();
    }
  });
});

describe("Kafka SASL OAUTHBEARER (OIDC)", () => {
  let broker: KafkaBroker;
  beforeAll(async () => {
    broker = await startKafka();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it("fetches a token with the client credentials from the token endpoint", { timeout: 30_000 }, async () => {
    const requests: { body: string; authorization: string | undefined }[] = [];
    const idp = createHttpServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        requests.push({ body, authorization: req.headers.authorization });
        const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const now = Math.floor(Date.now() / 1000);
        const token = `${part({ alg: "none" })}.${part({ sub: "router", iat: now, exp: now + 3600 })}.x`;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ access_token: token, token_type: "bearer", expires_in: 3600 }));
      });
    });
    await new Promise<void>((resolve) => idp.listen(0, "127.0.0.1", resolve));
    const port = (idp.address() as AddressInfo).port;
    try {
      await startFails({
        brokers: [broker.brokers],
        authentication: {
          sasl_oauthbearer: {
            token_endpoint_url: `http://127.0.0.1:${port}/token`,
            client_id: "router",
            client_secret: "oidc-s3cret",
            scope: "kafka",
          },
        },
      });
      expect(requests.length).toBeGreaterThan(0);
      expect(requests[0]!.body).toContain("grant_type=client_credentials");
      expect(requests[0]!.body).toContain("scope=kafka");
      expect(requests[0]!.authorization).toBe(
        `Basic ${Buffer.from("router:oidc-s3cret").toString("base64")}`,
      );
    } finally {
      await new Promise((r) => idp.close(r));
    }
  });
});
