/**
 * Request headers kept for stream hooks (`ctx.headers`, docs/hooks.md). Copied out of the uWS
 * request while it is valid (only inside its handler), and only when a hook module needs them:
 * otherwise a connection holds none.
 */
import type { HttpRequest } from "./uws.js";

/** Copies the headers `hooks.headers` names ("*" = all) from a request; names are lower case. */
export type HeaderCapture = (req: HttpRequest) => Readonly<Record<string, string>>;

export function headerCapture(names: readonly string[]): HeaderCapture {
  if (names.includes("*")) {
    return (req) => {
      const out: Record<string, string> = {};
      req.forEach((name, value) => {
        // Repeated headers joined as HTTP does.
        out[name] = Object.hasOwn(out, name) ? `${out[name]}, ${value}` : value;
      });
      return Object.freeze(out);
    };
  }
  const wanted = [...new Set(names.map((n) => n.toLowerCase()))];
  return (req) => {
    const out: Record<string, string> = {};
    for (const name of wanted) {
      const value = req.getHeader(name);
      if (value !== "") out[name] = value;
    }
    return Object.freeze(out);
  };
}
