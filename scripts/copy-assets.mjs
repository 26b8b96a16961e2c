// Copies non-TypeScript runtime assets (JSON Schema, demo SDL) into dist/ so `node dist/cli.js`
// works without the source tree. The playground's sources are bundled instead
// (scripts/build-playground.mjs), so they are not copied.
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const ASSET = /\.(json|graphql|html|css|js|svg)$/;
const BUNDLED = join("src", "demo", "playground");
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (path === BUNDLED) continue;
    if (statSync(path).isDirectory()) walk(path);
    else if (ASSET.test(name) && !name.endsWith(".d.ts")) {
      const out = join("dist", relative("src", path));
      mkdirSync(dirname(out), { recursive: true });
      cpSync(path, out);
    }
  }
}
if (existsSync("src")) walk("src");
