/**
 * Token handling that needs no crypto: the client only reads a JWT's `exp` to know when to ask
 * for a fresh one. The router verifies the signature; a token the client cannot read simply gets
 * no refresh timer (the router's 4403 / TOKEN_EXPIRED then makes the client reconnect with a new one).
 */

/** `exp` of a JWT in milliseconds since the epoch, or undefined when it has none or is no JWT. */
export function tokenExpiry(token: string): number | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const json = JSON.parse(atob(base64 + "===".slice((base64.length + 3) % 4)));
    const exp = json?.exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long to wait before refreshing a token that expires at `expiresAt`: `ahead` ms before it,
 * but never more than a quarter of the time left (a 4 s token is refreshed after 3 s, not at once).
 * Undefined when there is nothing to schedule.
 */
export function refreshDelay(expiresAt: number | undefined, now: number, ahead: number): number | undefined {
  if (expiresAt === undefined) return undefined;
  const left = expiresAt - now;
  if (left <= 0) return undefined;
  return Math.max(0, left - Math.min(ahead, left / 4));
}

/** The `Authorization` value for a token: a bare token gets the `Bearer` scheme. */
export function authorization(token: string): string {
  return /^\w+ /.test(token) ? token : `Bearer ${token}`;
}
