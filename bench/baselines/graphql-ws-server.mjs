#!/usr/bin/env node
/**
 * Baseline 2: the traditional Node stack. `graphql-ws` on a `ws` server, graphql-js execution, an
 * in-process pubsub with one listener-backed async iterator per subscription (the design of
 * graphql-subscriptions' PubSub), so every event is executed and serialized once per client.
 * Events arrive through the broker (one wildcard subscription) like they do for Streamgate.
 *
 *   node bench/baselines/graphql-ws-server.mjs --broker nats|redis --url <broker url> [--port 0]
 *   node bench/baselines/graphql-ws-server.mjs --nats nats://127.0.0.1:4222   (same as --broker nats)
 *
 * Prints one JSON line {"msg":"listening","port":N} on stdout once it accepts connections. Also the
 * stateful subgraph of the federated baseline (bench/baselines/federated-gateway.mjs).
 */
import { EventEmitter } from "node:events";
import { parseArgs } from "node:util";
import { buildSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { subscribeAll } from "../lib/brokers.mjs";
import { PLAIN_SDL } from "../lib/schema.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    nats: { type: "string" },
    broker: { type: "string", default: "nats" },
    url: { type: "string" },
  },
});

/** graphql-subscriptions' PubSub, reduced: an EventEmitter and a push/pull queue per iterator. */
class PubSub {
  ee = new EventEmitter();
  constructor() {
    this.ee.setMaxListeners(0);
  }
  publish(topic, payload) {
    this.ee.emit(topic, payload);
  }
  asyncIterator(topic) {
    const ee = this.ee;
    const pull = [];
    const push = [];
    let running = true;
    const listener = (value) => {
      if (pull.length > 0) pull.shift()({ value, done: false });
      else push.push(value);
    };
    ee.on(topic, listener);
    const end = () => {
      if (!running) return;
      running = false;
      ee.off(topic, listener);
      for (const resolve of pull) resolve({ value: undefined, done: true });
      pull.length = 0;
      push.length = 0;
    };
    return {
      next() {
        if (!running) return Promise.resolve({ value: undefined, done: true });
        if (push.length > 0) return Promise.resolve({ value: push.shift(), done: false });
        return new Promise((resolve) => pull.push(resolve));
      },
      return() {
        end();
        return Promise.resolve({ value: undefined, done: true });
      },
      throw(err) {
        end();
        return Promise.reject(err);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}

const pubsub = new PubSub();
const schema = buildSchema(PLAIN_SDL);
schema.getSubscriptionType().getFields().employeeUpdated.subscribe = (_root, args) =>
  pubsub.asyncIterator(`employeeUpdated.${args.id}`);
schema.getSubscriptionType().getFields().employeeUpdated.resolve = (event) => event;

const source = await subscribeAll(
  values.nats ? "nats" : values.broker,
  values.nats ?? values.url,
  (subject, text) => pubsub.publish(subject, JSON.parse(text)),
);

const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(values.port), path: "/graphql" });
useServer({ schema }, wss);
wss.on("listening", () => {
  process.stdout.write(`${JSON.stringify({ msg: "listening", port: wss.address().port })}\n`);
});
const stop = () => {
  for (const c of wss.clients) c.terminate();
  wss.close(() => source.close().finally(() => process.exit(0)));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
