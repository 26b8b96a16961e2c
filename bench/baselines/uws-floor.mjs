#!/usr/bin/env node
/**
 * Baseline 5, the floor: bare uWebSockets.js speaking just enough graphql-transport-ws
 * (connection_init → connection_ack, subscribe → a uWS topic, complete → unsubscribe, ping → pong)
 * and broadcasting the same bytes Streamgate sends through uWS topics. No GraphQL at all: the
 * frame is built with one string concatenation per event, so every subscriber must use the same
 * subscription id ("1", which the bench generator does) to receive byte-identical frames.
 *
 *   node bench/baselines/uws-floor.mjs --broker nats|redis --url <broker url> [--port 0]
 */
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { subscribeAll } from "../lib/brokers.mjs";

const require = createRequire(import.meta.url);
const uws = require("uWebSockets.js");

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    nats: { type: "string" },
    broker: { type: "string", default: "nats" },
    url: { type: "string" },
    "max-backpressure": { type: "string", default: String(1024 * 1024) },
  },
});

const decoder = new TextDecoder();
const app = uws.App();
app.ws("/graphql", {
  maxPayloadLength: 1024 * 1024,
  maxBackpressure: Number(values["max-backpressure"]),
  closeOnBackpressureLimit: false,
  idleTimeout: 30,
  sendPingsAutomatically: true,
  upgrade: (res, req, context) => {
    res.upgrade(
      { subs: new Map() },
      req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol") ? "graphql-transport-ws" : "",
      req.getHeader("sec-websocket-extensions"),
      context,
    );
  },
  message: (ws, message) => {
    let msg;
    try {
      msg = JSON.parse(decoder.decode(message));
    } catch {
      ws.end(4400, "invalid message");
      return;
    }
    const subs = ws.getUserData().subs;
    if (msg.type === "connection_init") ws.send('{"type":"connection_ack"}');
    else if (msg.type === "ping") ws.send('{"type":"pong"}');
    else if (msg.type === "subscribe") {
      const topic = `employeeUpdated.${msg.payload?.variables?.id}`;
      subs.set(msg.id, topic);
      ws.subscribe(topic);
    } else if (msg.type === "complete") {
      const topic = subs.get(msg.id);
      subs.delete(msg.id);
      if (topic && ![...subs.values()].includes(topic)) ws.unsubscribe(topic);
    }
  },
});

const source = await subscribeAll(
  values.nats ? "nats" : values.broker,
  values.nats ?? values.url,
  (subject, event) => {
    // event is {"id":"…"} as published: splice the id into the frame.
    const id = event.slice(event.indexOf('"id":') + 5, event.lastIndexOf("}"));
    app.publish(
      subject,
      `{"id":"1","type":"next","payload":{"data":{"employeeUpdated":{"__typename":"Employee","id":${id}}}}}`,
      false,
    );
  },
);

let listenSocket;
app.listen("127.0.0.1", Number(values.port), (s) => {
  if (!s) {
    process.stderr.write("cannot listen\n");
    process.exit(1);
  }
  listenSocket = s;
  process.stdout.write(`${JSON.stringify({ msg: "listening", port: uws.us_socket_local_port(s) })}\n`);
});
const stop = () => {
  if (listenSocket) uws.us_listen_socket_close(listenSocket);
  app.close?.();
  source.close().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
