/**
 * Tokens for the authenticated stacks (issue 10): one RS256 key pair per bench process, its public
 * half served as a JWKS over real HTTP by this process (what Streamgate's
 * `authentication.jwt.jwks: [{ url }]` fetches), and one token per user signed with `jose` (the
 * library the router verifies with). Users are named by the caller: "c<i>" for one user per client,
 * or the topic names when a user's `sub` claim is the topic it is bound to.
 */
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

const KID = "bench-rs256";
/** Long enough for any run: an expired token would close its connection (4403) mid-run. */
const LIFETIME_S = 6 * 3600;

let fixture;

/** The process's key pair and JWKS server (started on first use, closed with the process). */
export function authFixture() {
  fixture ??= start();
  return fixture;
}

async function start() {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: "RS256", use: "sig" };
  const body = JSON.stringify({ keys: [jwk] });
  const state = { fetches: 0 };
  const server = createServer((_req, res) => {
    state.fetches++;
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  // Not a reason for the harness to stay alive.
  server.unref();
  const url = `http://127.0.0.1:${server.address().port}/.well-known/jwks.json`;
  const signed = new Map();
  const exp = Math.floor(Date.now() / 1000) + LIFETIME_S;
  /** A token whose `sub` is `user` (cached: the A B A B repetitions reuse them). */
  const tokenFor = (user) => {
    let t = signed.get(user);
    if (!t) {
      t = new SignJWT({ sub: user, scope: "bench" })
        .setProtectedHeader({ alg: "RS256", kid: KID })
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(privateKey);
      signed.set(user, t);
    }
    return t;
  };
  return {
    url,
    /** JWKS requests served so far (the router fetches at start and on an unknown kid). */
    get fetches() {
      return state.fetches;
    },
    /** Signs (or reuses) one token per user; resolves with them in order. */
    async tokens(users) {
      const t0 = performance.now();
      const out = await Promise.all(users.map(tokenFor));
      const ms = performance.now() - t0;
      if (ms > 2000)
        process.stderr.write(`[bench] signed ${users.length} RS256 tokens in ${Math.round(ms)} ms\n`);
      return out;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** `authentication` / `authorization` / `websocket` config for a stack verifying these tokens. */
export function jwtConfig(jwksUrl) {
  return {
    // The default cache (10,000 verified tokens) and refresh interval: what a user gets.
    authentication: { jwt: { jwks: [{ url: jwksUrl }] } },
    // Every client must present a valid token, so a run cannot pass with anonymous connections.
    authorization: { require_authentication: true },
    websocket: { authentication: { from_initial_payload: { enabled: true, key: "Authorization" } } },
  };
}
