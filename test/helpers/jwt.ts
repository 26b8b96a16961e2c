/**
 * Tokens for tests: RS256 key pairs whose public halves a real HTTP server publishes as a JWKS
 * (which the test can rotate), and HS256 tokens for symmetric secrets. Signed with `jose`, the
 * library the router verifies with; nothing here is a mock of it.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  readonly jwk: JWK;
}

export async function rsaKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  return { kid, privateKey, jwk };
}

/** Signs `claims` with `key`; `expiresIn` seconds from now (omitted: no exp). */
export function sign(key: SigningKey, claims: JWTPayload, expiresIn?: number): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: key.kid }).setIssuedAt();
  if (expiresIn !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn);
  return jwt.sign(key.privateKey);
}

export function signHs256(secret: string, claims: JWTPayload, expiresIn?: number): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt();
  if (expiresIn !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** A JWKS endpoint over real HTTP; `keys` can be replaced (rotation) and fetches are counted. */
export interface JwksServer {
  readonly url: string;
  keys: JWK[];
  fetches: number;
  close(): Promise<void>;
}

export async function startJwks(keys: JWK[]): Promise<JwksServer> {
  const state = { keys, fetches: 0 };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get keys() {
      return state.keys;
    },
    set keys(k: JWK[]) {
      state.keys = k;
    },
    get fetches() {
      return state.fetches;
    },
    set fetches(n: number) {
      state.fetches = n;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
