/**
 * The playground (GraphiQL, bundled at build time by scripts/build-playground.mjs into
 * dist/demo/playground/): `GET /` is a half-kilobyte page, `GET /playground/<file>` its hashed
 * script, style, font and web-worker files. Memory matters more than the speed of a developer
 * tool, so nothing is read at start or kept: each request reads its file from disk, and hashed
 * files are cached by browsers for a year instead.
 */
import { readFile } from "node:fs/promises";
import { assetUrl } from "../process/entries.js";
import { Reply } from "../transport/reply.js";
import type { TemplatedApp } from "../transport/uws.js";

/** Example operations preloaded as the playground's tabs. */
export interface PlaygroundExamples {
  readonly subscription: string;
  readonly mutation: string;
}

const DIR = assetUrl("demo/playground/");

/** A built file name: name-HASH.ext, nothing that could leave the folder. */
const ASSET = /^[A-Za-z0-9_.]+-[A-Z0-9]{8}\.(js|css|ttf)$/;

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  ttf: "font/ttf",
};

const NOT_BUILT =
  "The playground is not built: dist/demo/playground/ is missing. Run `npm run build` " +
  "(it bundles GraphiQL), or set playground: false.\n";

/** The page's settings as JSON that cannot end its <script> element. */
export function pageSettings(graphqlPath: string, examples: PlaygroundExamples | undefined): string {
  const settings = {
    graphqlPath,
    examples: examples ? [examples.subscription, examples.mutation] : [],
  };
  return JSON.stringify(settings).replace(/</g, "\\u003c");
}

/** Registers GET / and GET /playground/:file on `app`. */
export function mountPlayground(
  app: TemplatedApp,
  graphqlPath: string,
  examples: PlaygroundExamples | undefined,
): void {
  const settings = pageSettings(graphqlPath, examples);
  app.get("/", (res) => {
    const reply = new Reply(res);
    readFile(new URL("index.html", DIR), "utf8").then(
      (html) =>
        reply.send(
          "200 OK",
          [
            ["content-type", "text/html; charset=utf-8"],
            ["cache-control", "no-cache"],
            ["x-content-type-options", "nosniff"],
          ],
          html.replace("__CONFIG__", () => settings),
        ),
      () => reply.send("503 Service Unavailable", [["content-type", "text/plain; charset=utf-8"]], NOT_BUILT),
    );
  });
  app.get("/playground/:file", (res, req) => {
    const reply = new Reply(res);
    // uWS requests are only valid until the handler returns: read everything needed now.
    const file = req.getParameter(0) ?? "";
    const gzip = /\bgzip\b/.test(req.getHeader("accept-encoding"));
    const match = ASSET.exec(file);
    if (!match) {
      reply.send("404 Not Found", [["content-type", "text/plain; charset=utf-8"]], "not found\n");
      return;
    }
    void serveAsset(reply, file, TYPES[match[1]!]!, gzip);
  });
}

async function serveAsset(reply: Reply, file: string, type: string, gzip: boolean): Promise<void> {
  const headers: [string, string][] = [
    ["content-type", type],
    ["cache-control", "public, max-age=31536000, immutable"],
    ["vary", "accept-encoding"],
    ["x-content-type-options", "nosniff"],
  ];
  let body: Buffer;
  try {
    // The build writes a gzipped copy of every file; the plain one serves other clients.
    body = gzip ? await readFile(new URL(`${file}.gz`, DIR)) : await readFile(new URL(file, DIR));
    if (gzip) headers.push(["content-encoding", "gzip"]);
  } catch {
    try {
      body = await readFile(new URL(file, DIR));
    } catch {
      reply.send("404 Not Found", [["content-type", "text/plain; charset=utf-8"]], "not found\n");
      return;
    }
  }
  reply.send("200 OK", headers, body);
}
