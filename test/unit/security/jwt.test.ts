import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthenticationConfig } from "../../../src/config/types.js";
import { JwtVerifier } from "../../../src/security/jwt.js";
import { scopesOf } from "../../../src/security/scopes.js";
import { type JwksServer, rsaKey, type SigningKey, sign, signHs256, startJwks } from "../../helpers/jwt.js";

type Jwt = NonNullable<AuthenticationConfig["jwt"]>;
const SECRET = "0123456789abcdef0123456789abcdef";

function config(over: Partial<Jwt> = {}): Jwt {
  return {
    jwks: [{ secret: SECRET, symmetric_algorithm: "HS256", refresh_interval: 60_000 }],
    header_name: "Authorization",
    header_value_prefix: "Bearer",
    clock_skew: 5000,
    cache_size: 100,
    ...over,
  };
}

let jwks: JwksServer;
let key: SigningKey;
beforeAll(async () => {
  key = await rsaKey("k1");
  jwks = await startJwks([key.jwk]);
});
afterAll(() => jwks.close());

describe("JwtVerifier.tokenFrom", () => {
  const v = new JwtVerifier(config());
  it("reads `<prefix> <token>` case-insensitively; empty is no token; anything else is refused", () => {
    expect(v.tokenFrom("Bearer abc")).toBe("abc");
    expect(v.tokenFrom("bearer   abc ")).toBe("abc");
    expect(v.tokenFrom("")).toBeNull();
    expect(v.tokenFrom(undefined)).toBeNull();
    expect(() => v.tokenFrom("abc")).toThrow(/expected "Bearer <token>"/);
    expect(() => v.tokenFrom("Bearer")).toThrow(/expected/);
    expect(new JwtVerifier(config({ header_value_prefix: "" })).tokenFrom(" abc ")).toBe("abc");
  });
});

describe("JwtVerifier.verify", () => {
  it("verifies HS256 against the secret and returns claims and exp", async () => {
    const auth = await new JwtVerifier(config()).verify(
      await signHs256(SECRET, { sub: "a", scope: "x y" }, 60),
    );
    expect(auth.claims.sub).toBe("a");
    expect(auth.expiresAt).toBeGreaterThan(Date.now());
    expect([...scopesOf(auth)]).toEqual(["x", "y"]);
  });

  it("refuses expired tokens, honours the clock skew for exp and nbf", async () => {
    const v = new JwtVerifier(config({ clock_skew: 5000 }));
    await expect(v.verify(await signHs256(SECRET, { sub: "a" }, -60))).rejects.toThrow(
      /invalid token: expired/,
    );
    await expect(v.verify(await signHs256(SECRET, { sub: "a" }, -2))).resolves.toBeDefined();
    const future = Math.floor(Date.now() / 1000) + 60;
    await expect(v.verify(await signHs256(SECRET, { sub: "a", nbf: future }))).rejects.toThrow(/nbf/);
  });

  it("never checks a token against a source of another algorithm family (no alg confusion)", async () => {
    const v = new JwtVerifier(
      config({ jwks: [{ url: jwks.url, refresh_interval: 60_000, symmetric_algorithm: "HS256" }] }),
    );
    await expect(v.verify(await signHs256(SECRET, { sub: "a" }))).rejects.toThrow(
      /algorithm HS256 is not accepted/,
    );
    await expect(v.verify(await sign(key, { sub: "a" }))).resolves.toMatchObject({ claims: { sub: "a" } });
  });

  it("restricts a secret to its header_key_id", async () => {
    const v = new JwtVerifier(
      config({
        jwks: [{ secret: SECRET, symmetric_algorithm: "HS256", header_key_id: "s1", refresh_interval: 1 }],
      }),
    );
    const withKid = (kid: string) =>
      new SignJWT({ sub: "a" })
        .setProtectedHeader({ alg: "HS256", kid })
        .sign(new TextEncoder().encode(SECRET));
    await expect(v.verify(await withKid("s1"))).resolves.toBeDefined();
    await expect(v.verify(await withKid("s2"))).rejects.toThrow(/not accepted/);
  });

  it("checks audiences and issuers when configured", async () => {
    const v = new JwtVerifier(config({ audiences: ["router"], issuers: ["https://idp"] }));
    await expect(
      v.verify(await signHs256(SECRET, { sub: "a", aud: "router", iss: "https://idp" })),
    ).resolves.toBeDefined();
    await expect(
      v.verify(await signHs256(SECRET, { sub: "a", aud: "other", iss: "https://idp" })),
    ).rejects.toThrow(/aud/);
    await expect(v.verify(await signHs256(SECRET, { sub: "a", aud: "router", iss: "evil" }))).rejects.toThrow(
      /iss/,
    );
  });

  it("verifies a token once: the JWKS is fetched once for many verifications of one token", async () => {
    const v = new JwtVerifier(
      config({ jwks: [{ url: jwks.url, refresh_interval: 60_000, symmetric_algorithm: "HS256" }] }),
    );
    const token = await sign(key, { sub: "cached" }, 60);
    const before = jwks.fetches;
    const first = await v.verify(token);
    for (let i = 0; i < 50; i++) expect(await v.verify(token)).toBe(first);
    expect(jwks.fetches - before).toBe(1);
  });

  it("refuses garbage and oversized tokens with a reason, never throwing anything else", async () => {
    const v = new JwtVerifier(config());
    for (const t of ["", "a", "a.b", "a.b.c", "x".repeat(20_000), "..", "e30.e30.", "\u0000.\u0000.\u0000"]) {
      await expect(v.verify(t)).rejects.toMatchObject({ code: "SG_ERR_UNAUTHENTICATED" });
    }
  });
});
