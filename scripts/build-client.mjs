// Bundles `streamgate/client` for browsers (no server module in it; test/unit/client/bundle.test.ts
// checks) into dist/client/: an ES module (`streamgate/client/browser`) and a classic script that
// defines `StreamgateClient` (the playground inlines it).
import { build } from "esbuild";

/** Shared by this script and the bundle test, so both measure the same build. */
export const CLIENT_BUILD = {
  entryPoints: ["src/client/index.ts"],
  bundle: true,
  minify: true,
  platform: "browser",
  target: "es2020",
  legalComments: "none",
  metafile: true,
};

if (import.meta.url === `file://${process.argv[1]}`) {
  await build({ ...CLIENT_BUILD, format: "esm", outfile: "dist/client/streamgate-client.min.js" });
  await build({
    ...CLIENT_BUILD,
    format: "iife",
    globalName: "StreamgateClient",
    outfile: "dist/client/streamgate-client.iife.js",
  });
}
