/**
 * JWT verification with `jose`: keys from JWKS URLs (cached, refreshed every `refresh_interval`,
 * an unknown `kid` fetched on demand at most once per cooldown) and symmetric secrets. Each source
 * accepts only its own algorithms, so an HS256 token can never be checked against a public key
 * (the algorithm-confusion attack). Results are cached per token (by its SHA-256) until `exp`, so
 * a client that reconnects or opens many SSE streams is verified once; failures are cached briefly
 * so a flood of one bad token costs one signature check, not one per request.
 */
import { createHash } from "node:crypto";
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
  type RemoteJWKSet,
} from "jose";
import { LRUCache } from "lru-cache";
import type { AuthenticationConfig, JwksSourceConfig } from "../config/types.js";
import type { AuthInfo } from "../engine/types.js";
import { ErrorCode, StreamgateError } from "../errors.js";

type JwtConfig = NonNullable<AuthenticationConfig["jwt"]>;

const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
/** How long a refused token stays refused without a new signature check. */
const FAILURE_TTL_MS = 5_000;
/** Tokens longer than this are refused unread: no legitimate JWT needs 16 KiB. */
const MAX_TOKEN_LENGTH = 16_384;

interface KeySource {
  readonly algorithms: readonly string[];
  /** Symmetric: the key id the source is restricted to. */
  readonly kid?: string;
  readonly key: Uint8Array | RemoteJWKSet;
  readonly remote?: RemoteJWKSet;
}

/** A refusal: the public message says why, never which key or URL. */
function unauthenticated(reason: string, cause?: unknown): StreamgateError {
  return new StreamgateError(ErrorCode.UNAUTHENTICATED, `invalid token: ${reason}`, { cause });
}

/** Why jose refused a token, in words fit for a client. */
function reasonOf(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim "${err.claim}" ${err.reason}`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "bad signature";
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "no key matches its kid";
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid)
    return "signing keys unavailable";
  if (err instanceof joseErrors.JOSEError) return "malformed or unsupported";
  // Anything else came from fetching the JWKS (connection refused, bad JSON).
  return "signing keys unavailable";
}

/** The failure was about finding the key, not about the token. */
function keyMissing(err: unknown): boolean {
  return (
    err instanceof joseErrors.JWKSNoMatchingKey ||
    err instanceof joseErrors.JWKSTimeout ||
    err instanceof joseErrors.JWKSInvalid ||
    !(err instanceof joseErrors.JOSEError || err === undefined)
  );
}

function sourceOf(c: JwksSourceConfig): KeySource {
  if (c.secret !== undefined) {
    return {
      algorithms: c.algorithms ?? [c.symmetric_algorithm],
      ...(c.header_key_id !== undefined ? { kid: c.header_key_id } : {}),
      key: new TextEncoder().encode(c.secret),
    };
  }
  const remote = createRemoteJWKSet(new URL(c.url!), {
    cacheMaxAge: c.refresh_interval,
    cooldownDuration: 30_000,
    timeoutDuration: 5_000,
  });
  return { algorithms: c.algorithms ?? ASYMMETRIC, key: remote, remote };
}

export class JwtVerifier {
  private readonly sources: readonly KeySource[];
  private readonly cache: LRUCache<string, AuthInfo | StreamgateError> | undefined;
  private readonly options: JWTVerifyOptions;
  private readonly refresh: NodeJS.Timeout[] = [];

  constructor(private readonly config: JwtConfig) {
    this.sources = config.jwks.map(sourceOf);
    this.cache = config.cache_size > 0 ? new LRUCache({ max: config.cache_size }) : undefined;
    this.options = {
      clockTolerance: config.clock_skew / 1000,
      ...(config.audiences ? { audience: [...config.audiences] } : {}),
      ...(config.issuers ? { issuer: [...config.issuers] } : {}),
    };
  }

  /** Fetches every JWKS once and then every `refresh_interval`, so rotated keys are in place before a token needs them. */
  start(): void {
    this.config.jwks.forEach((c, i) => {
      const remote = this.sources[i]!.remote;
      if (!remote) return;
      remote.reload().catch(() => {});
      const t = setInterval(() => remote.reload().catch(() => {}), Math.max(1000, c.refresh_interval));
      t.unref();
      this.refresh.push(t);
    });
  }

  stop(): void {
    for (const t of this.refresh) clearInterval(t);
    this.refresh.length = 0;
  }

  /**
   * The token in a header value: `<prefix> <token>` (prefix matched case-insensitively), or the
   * whole value when the prefix is empty. null when the value is empty; a value without the prefix
   * is refused (a token sent the wrong way must not pass as no token).
   */
  tokenFrom(value: string | undefined | null): string | null {
    if (value === undefined || value === null) return null;
    const v = value.trim();
    if (v === "") return null;
    const prefix = this.config.header_value_prefix;
    if (prefix === "") return v;
    if (
      v.length > prefix.length &&
      v.slice(0, prefix.length + 1).toLowerCase() === `${prefix.toLowerCase()} `
    )
      return v.slice(prefix.length + 1).trim();
    throw unauthenticated(`expected "${prefix} <token>"`);
  }

  /** Verifies `token`; rejects with UNAUTHENTICATED saying why. */
  async verify(token: string): Promise<AuthInfo> {
    if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated("too long");
    const key = this.cache ? createHash("sha256").update(token).digest("base64url") : "";
    const cached = this.cache?.get(key);
    if (cached instanceof StreamgateError) throw cached;
    if (cached && (cached.expiresAt === undefined || cached.expiresAt > Date.now() - this.config.clock_skew))
      return cached;
    try {
      const auth = await this.check(token);
      const ttl = auth.expiresAt === undefined ? 0 : auth.expiresAt + this.config.clock_skew - Date.now();
      this.cache?.set(key, auth, ttl > 0 ? { ttl } : {});
      return auth;
    } catch (err) {
      const refusal = err instanceof StreamgateError ? err : unauthenticated(reasonOf(err), err);
      // A token that failed on its own (signature, claims, format) stays refused for a while; one
      // that only lacked a key may verify once the JWKS is refreshed, so it is not remembered.
      if (!keyMissing(refusal.cause)) this.cache?.set(key, refusal, { ttl: FAILURE_TTL_MS });
      throw refusal;
    }
  }

  private async check(token: string): Promise<AuthInfo> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch (err) {
      throw unauthenticated("malformed", err);
    }
    const alg = header.alg;
    if (typeof alg !== "string") throw unauthenticated("no alg in its header");
    const candidates = this.sources.filter(
      (s) => s.algorithms.includes(alg) && (s.kid === undefined || s.kid === header.kid),
    );
    if (candidates.length === 0) throw unauthenticated(`algorithm ${alg} is not accepted`);
    let last: unknown;
    for (const s of candidates) {
      try {
        const { payload } = await jwtVerify(token, s.key as Uint8Array, {
          ...this.options,
          algorithms: [alg],
        });
        return authInfo(payload);
      } catch (err) {
        last = err;
        // Another source may hold the key; any other failure is the token's own.
        if (
          !(err instanceof joseErrors.JWKSNoMatchingKey) &&
          !(err instanceof joseErrors.JWSSignatureVerificationFailed)
        )
          break;
      }
    }
    throw unauthenticated(reasonOf(last), last);
  }
}

function authInfo(payload: JWTPayload): AuthInfo {
  return {
    claims: payload as Record<string, unknown>,
    ...(typeof payload.exp === "number" ? { expiresAt: payload.exp * 1000 } : {}),
  };
}
