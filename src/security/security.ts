/**
 * The router's security settings in one object shared by the transports, the sessions and the
 * engine: who a client is (tokens from headers or the connection_init payload), whether anonymous
 * clients may in, when tokens expire, and the rate limits. Its counters feed /metrics.
 */
import type { Config } from "../config/types.js";
import type { AuthInfo, RequestContext } from "../engine/types.js";
import { ErrorCode, StreamgateError } from "../errors.js";
import { ExpiryWatch } from "./expiry.js";
import type { JwtVerifier } from "./jwt.js";
import { RateLimiter } from "./rate-limit.js";

/** A verified identity, none (null), or a verification in flight. */
export type AuthResult = AuthInfo | null | Promise<AuthInfo | null>;

export interface SecurityStats {
  /** Tokens refused, by where they came from. */
  readonly refused: { header: number; payload: number; refresh: number; missing: number };
  tokensExpired: number;
  tokensRefreshed: number;
  readonly rateLimited: { subscribe: number; publish: number };
  /** Operations refused by @authenticated / @requiresScopes. */
  denied: number;
}

type SecurityConfig = Pick<Config, "authentication" | "authorization" | "websocket" | "rate_limit">;

export class Security {
  readonly stats: SecurityStats = {
    refused: { header: 0, payload: 0, refresh: 0, missing: 0 },
    tokensExpired: 0,
    tokensRefreshed: 0,
    rateLimited: { subscribe: 0, publish: 0 },
    denied: 0,
  };
  readonly required: boolean;
  /** Lower-case, as uWS reads request headers. */
  readonly headerName: string;
  /** The connection_init / ping payload key holding a token, when payload tokens are accepted. */
  readonly payloadKey: string | undefined;
  readonly limiters: { readonly subscribe?: RateLimiter; readonly publish?: RateLimiter };
  private readonly verifier: JwtVerifier | undefined;
  private readonly expiry: ExpiryWatch | undefined;

  /** Loads `jose` only when a JWT source is configured (it costs the empty router ~2 MiB). */
  static async create(config: SecurityConfig): Promise<Security> {
    const jwt = config.authentication.jwt;
    return new Security(config, jwt ? new (await import("./jwt.js")).JwtVerifier(jwt) : undefined);
  }

  /** `verifier`: built from `config.authentication.jwt` (see create()). */
  constructor(config: SecurityConfig, verifier?: JwtVerifier) {
    const jwt = config.authentication.jwt;
    this.verifier = verifier;
    this.required = config.authorization.require_authentication;
    if (this.required && !this.verifier) {
      throw new StreamgateError(
        ErrorCode.CONFIG_INVALID,
        "authorization.require_authentication needs authentication.jwt: no token could ever be verified",
      );
    }
    this.headerName = (jwt?.header_name ?? "authorization").toLowerCase();
    const fromPayload = config.websocket.authentication.from_initial_payload;
    this.payloadKey = this.verifier && fromPayload.enabled ? fromPayload.key : undefined;
    this.expiry =
      this.verifier && config.authorization.token_expiry === "close" ? new ExpiryWatch() : undefined;
    const { subscribe, publish } = config.rate_limit;
    this.limiters = {
      ...(subscribe ? { subscribe: new RateLimiter(subscribe) } : {}),
      ...(publish ? { publish: new RateLimiter(publish) } : {}),
    };
  }

  /** Whether any token is ever verified. Without it every client is anonymous, at no cost. */
  get enabled(): boolean {
    return this.verifier !== undefined;
  }

  start(): void {
    this.verifier?.start();
  }

  stop(): void {
    this.verifier?.stop();
    this.expiry?.stop();
  }

  /**
   * The identity in a request's (or upgrade's) header value. Synchronous and free when JWT is not
   * configured or no token was sent; rejects with UNAUTHENTICATED for a token that does not verify.
   */
  fromHeader(value: string): AuthResult {
    if (!this.verifier || value === "") return null;
    return this.count("header", this.verifyText(value));
  }

  /** The identity in a connection_init or ping payload; null when the payload carries no token. */
  fromPayload(
    payload: Readonly<Record<string, unknown>> | null | undefined,
    from: "payload" | "refresh",
  ): AuthResult {
    if (!this.payloadKey || !payload) return null;
    const value = payload[this.payloadKey];
    if (value === undefined || value === null || value === "") return null;
    if (typeof value !== "string") {
      this.stats.refused[from]++;
      throw new StreamgateError(
        ErrorCode.UNAUTHENTICATED,
        `invalid token: "${this.payloadKey}" must be a string`,
      );
    }
    return this.count(from, this.verifyText(value));
  }

  /** A request without a token where one is required: counted, and the error to send. */
  missing(): StreamgateError {
    this.stats.refused.missing++;
    return new StreamgateError(ErrorCode.UNAUTHENTICATED, "authentication required: send a token");
  }

  /**
   * Calls `expired` when `ctx`'s token passes its exp (tokens without exp never expire); returns
   * the cancel, or undefined when nothing was watched.
   */
  watchExpiry(ctx: RequestContext, expired: () => void): (() => void) | undefined {
    const at = ctx.auth?.expiresAt;
    if (!this.expiry || at === undefined) return undefined;
    return this.expiry.watch(at, () => {
      this.stats.tokensExpired++;
      expired();
    });
  }

  /**
   * Checks a refreshed token against the one it replaces: the same subject, or it is refused (a
   * connection cannot change user under its claim-bound subscriptions).
   */
  replaces(before: AuthInfo | null, after: AuthInfo): StreamgateError | undefined {
    if (before && before.claims.sub !== after.claims.sub) {
      this.stats.refused.refresh++;
      return new StreamgateError(
        ErrorCode.UNAUTHENTICATED,
        "invalid token: a refreshed token must have the same sub",
      );
    }
    this.stats.tokensRefreshed++;
    return undefined;
  }

  private async verifyText(value: string): Promise<AuthInfo> {
    const token = this.verifier!.tokenFrom(value);
    if (token === null) throw this.missing();
    return this.verifier!.verify(token);
  }

  private count(from: "header" | "payload" | "refresh", p: Promise<AuthInfo>): Promise<AuthInfo> {
    return p.catch((err) => {
      this.stats.refused[from]++;
      throw err;
    });
  }
}
