/**
 * Loads uWebSockets.js and refuses to run on its pure-JS fallback. The republished package we
 * depend on silently falls back to a slow Node implementation when the native addon does not
 * load (wrong Node ABI, glibc); a router that ran like that would miss every number we claim.
 */
import { createRequire } from "node:module";
import { ErrorCode, StreamgateError } from "../errors.js";

const require = createRequire(import.meta.url);

type Uws = typeof import("uWebSockets.js");

function load(): Uws {
  const uws = require("uWebSockets.js") as Uws & Record<string, unknown>;
  const nativeLoaded = Object.keys(require.cache).some((p) => /uws_[^/\\]+\.node$/.test(p));
  // The fallback lacks these native-only exports; check both so neither heuristic alone decides.
  if (!nativeLoaded || typeof uws.getParts !== "function" || typeof uws.SSLApp !== "function") {
    throw new StreamgateError(
      ErrorCode.UWS_NATIVE_MISSING,
      `uWebSockets.js native addon did not load for ${process.platform}-${process.arch} ` +
        `(Node ABI ${process.versions.modules}); refusing to start on the slow JS fallback. ` +
        "Use Node 20 on glibc ≥ 2.27 and reinstall with `npm ci`.",
    );
  }
  return uws;
}

export const uws: Uws = load();
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from "uWebSockets.js";
