#!/usr/bin/env node
/**
 * The subgraph HTTP client alone: the router's node:http poster (dist/subgraphs/http-post.js)
 * against the undici Pool it replaced (undici stays a devDependency for this comparison), each
 * POSTing a small GraphQL request to a node:http subgraph stand-in in a child process pinned to
 * the other core. Interleaved A B A B; per run: requests/s, p50/p99 latency at 1 and at 32
 * requests in flight, and the RSS that loading the client and serving the run added (a fresh
 * process per run, so one client's memory never counts against the other's).
 *
 *   node bench/subgraph-client.mjs [--requests 20000] [--repeat 3] [--out bench/results/subgraph-client]
 */
import { execFileSync, fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "./lib/sys.mjs";

const ROLE = process.env.SUBGRAPH_BENCH_ROLE;

if (ROLE === "server") {
  const { createServer } = await import("node:http");
  const answer = JSON.stringify({ data: { _entities: [{ id: "1", name: "Ada", department: "Engineering" }] } });
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(answer);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
} else if (ROLE === "client") {
  const [kind, port, requests] = process.argv.slice(2);
  const rss0 = process.memoryUsage.rss();
  const url = new URL(`http://127.0.0.1:${port}/graphql`);
  const body = JSON.stringify({ query: "query($r: [_Any!]!) { _entities(representations: $r) { ... on Employee { name } } }", variables: { r: [{ __typename: "Employee", id: "1" }] } });
  const headers = { "content-type": "application/json", accept: "application/json" };
  let post;
  if (kind === "undici") {
    const { Pool } = await import("undici");
    const pool = new Pool(url.origin, { connections: 32, keepAliveTimeout: 30_000, pipelining: 1 });
    post = async () => {
      const res = await pool.request({ path: url.pathname, method: "POST", headers, body, headersTimeout: 10_000, bodyTimeout: 10_000 });
      return JSON.parse(await res.body.text());
    };
  } else {
    const { HttpPoster } = await import(join(REPO_ROOT, "dist/subgraphs/http-post.js"));
    const poster = new HttpPoster({ maxSockets: 32, idleMs: 30_000, maxBodyBytes: 64 * 1024 * 1024 });
    post = async () => JSON.parse((await poster.post(url, headers, body, 10_000)).text);
  }
  const loaded = process.memoryUsage.rss();
  const result = { kind };
  for (const inFlight of [1, 32]) {
    const n = Number(requests) / (inFlight === 1 ? 4 : 1);
    const lat = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next++ < n) {
          const s = performance.now();
          const r = await post();
          if (!r.data) throw new Error("bad answer");
          lat.push(performance.now() - s);
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    const q = (p) => Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] * 1000) / 1000;
    result[`inFlight${inFlight}`] = { requests: lat.length, perSecond: Math.round(lat.length / secs), p50Ms: q(0.5), p99Ms: q(0.99) };
  }
  globalThis.gc?.();
  result.rssLoadMB = Math.round(((loaded - rss0) / 1048576) * 10) / 10;
  result.rssAfterMB = Math.round(((process.memoryUsage.rss() - rss0) / 1048576) * 10) / 10;
  process.send(result);
  setTimeout(() => process.exit(0), 50);
} else {
  const { values } = parseArgs({
    options: {
      requests: { type: "string", default: "20000" },
      repeat: { type: "string", default: "3" },
      out: { type: "string", default: join(REPO_ROOT, "bench/results/subgraph-client") },
    },
  });
  const cores = availableParallelism();
  const pin = (child, core) => {
    try {
      execFileSync("taskset", ["-pc", String(core), String(child.pid)], { stdio: "ignore" });
    } catch {}
  };
  const me = new URL(import.meta.url).pathname;
  const server = fork(me, [], { env: { ...process.env, SUBGRAPH_BENCH_ROLE: "server" } });
  if (cores > 1) pin(server, 0);
  const { port } = await new Promise((r) => server.once("message", r));
  const runs = [];
  for (let rep = 0; rep < Number(values.repeat); rep++) {
    for (const kind of ["undici", "node-http"]) {
      const child = fork(me, [kind, String(port), values.requests], {
        env: { ...process.env, SUBGRAPH_BENCH_ROLE: "client" },
        execArgv: ["--expose-gc"],
      });
      if (cores > 1) pin(child, cores - 1);
      const r = await new Promise((res, rej) => {
        child.once("message", res);
        child.once("exit", (code) => code && rej(new Error(`${kind} client exited ${code}`)));
      });
      runs.push({ rep: rep + 1, ...r });
      console.log(JSON.stringify(runs.at(-1)));
    }
  }
  server.kill();
  const { loadavg } = await import("node:os");
  const out = { scenario: "subgraph-client", timestamp: new Date().toISOString(), command: `node bench/subgraph-client.mjs ${process.argv.slice(2).join(" ")}`.trim(), node: process.version, load: loadavg(), runs };
  mkdirSync(values.out, { recursive: true });
  const file = join(values.out, `subgraph-client-${out.timestamp.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${file}`);
}
