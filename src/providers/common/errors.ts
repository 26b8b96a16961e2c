/** Error helpers shared by the providers. */
import { ErrorCode, toError } from "../../errors.js";

/**
 * Calls a subscription's error handler with `err` (anything a handler threw that is not an Error
 * becomes an INTERNAL one: a throwing handler is a bug above the provider). A handler that throws
 * too is ignored: the caller counted the error already, and a broken handler must not break the
 * broker client's callback.
 */
export function report(onError: ((err: Error) => void) | undefined, err: unknown): void {
  try {
    onError?.(toError(err, ErrorCode.INTERNAL));
  } catch {
    // the error handler failed too
  }
}
