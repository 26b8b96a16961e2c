#!/usr/bin/env node
/**
 * Baseline 3, federated: a gateway that proxies each client subscription over its own WebSocket to
 * a stateful subgraph (the "3 connections per client" design: client→gateway, gateway→subgraph,
 * and the subgraph's end). The gateway parses every upstream `next` and re-serializes it per client,
 * as gateways do. It spawns its subgraph (bench/baselines/federated-subgraph.mjs) as a child, so the
 * stack's RSS is the sum over this process tree.
 *
 *   node bench/baselines/federated-gateway.mjs --broker nats|redis --url <broker url> [--port 0]
 *
 * Prints {"msg":"listening","port":N} once both processes accept connections.
 */
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { buildSchema, print } from "graphql";
import { createClient } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import WebSocket, { WebSocketServer } from "ws";
import { PLAIN_SDL } from "../lib/schema.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    nats: { type: "string" },
    broker: { type: "string", default: "nats" },
    url: { type: "string" },
  },
});

const subgraph = spawn(
  process.execPath,
  [
    new URL("./federated-subgraph.mjs", import.meta.url).pathname,
    "--broker",
    values.nats ? "nats" : values.broker,
    "--url",
    values.nats ?? values.url,
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const subgraphPort = await new Promise((resolve, reject) => {
  let buf = "";
  subgraph.stdout.on("data", (d) => {
    buf += d;
    const m = /"port":(\d+)/.exec(buf);
    if (m) resolve(Number(m[1]));
  });
  subgraph.once("exit", (code) => reject(new Error(`subgraph exited ${code}`)));
});
const upstreamUrl = `ws://127.0.0.1:${subgraphPort}/graphql`;

/** One upstream connection per client subscription, closed when the subscription ends. */
function proxy(args) {
  const client = createClient({ url: upstreamUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
  const upstream = client.iterate({
    query: print(args.document),
    variables: args.variableValues ?? {},
    operationName: args.operationName ?? undefined,
  });
  // graphql-ws rejects with the CloseEvent (or a GraphQLError list) when the upstream ends badly;
  // give the client a readable reason instead of "[object Object]".
  const reason = (err) => {
    if (err instanceof Error) return err;
    if (err && typeof err === "object" && "code" in err)
      return new Error(`upstream subgraph socket closed: ${err.code} ${err.reason ?? ""}`.trim());
    return new Error(`upstream subgraph error: ${JSON.stringify(err)}`);
  };
  return {
    next: () =>
      upstream.next().catch((err) => {
        throw reason(err);
      }),
    return: async () => {
      const r = await upstream.return?.();
      await client.dispose();
      return r ?? { value: undefined, done: true };
    },
    throw: async (err) => {
      await client.dispose();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const schema = buildSchema(PLAIN_SDL);
const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(values.port), path: "/graphql" });
useServer({ schema, subscribe: proxy }, wss);
wss.on("listening", () => {
  process.stdout.write(
    `${JSON.stringify({ msg: "listening", port: wss.address().port, subgraph: subgraph.pid })}\n`,
  );
});
const stop = () => {
  for (const c of wss.clients) c.terminate();
  subgraph.kill("SIGTERM");
  wss.close(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
