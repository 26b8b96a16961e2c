/** The identity of an HTTP request or WebSocket upgrade, from its token header. */
import type { RequestContext } from "../engine/types.js";
import { publicMessage } from "../errors.js";
import type { AuthResult, Security } from "../security/security.js";

/**
 * Verifies the token in header value `value` into `ctx.auth`, then calls `done` with undefined, or
 * with the public reason it was refused. Synchronous when there is nothing to verify (no JWT
 * configured, no token sent), so anonymous traffic pays nothing.
 */
export function authenticate(
  security: Security,
  value: string,
  ctx: RequestContext,
  done: (refused: string | undefined) => void,
): void {
  let result: AuthResult;
  try {
    result = security.fromHeader(value);
  } catch (err) {
    done(publicMessage(err, "invalid token"));
    return;
  }
  if (!(result instanceof Promise)) {
    ctx.auth = result;
    done(undefined);
    return;
  }
  result.then(
    (auth) => {
      ctx.auth = auth;
      done(undefined);
    },
    (err) => done(publicMessage(err, "invalid token")),
  );
}
