/**
 * OpenTelemetry traces end to end: the built router exports OTLP/HTTP to a collector served by the
 * test, on a real nats-server with a real federation subgraph. One trace runs from a publish
 * mutation (its client's traceparent) through the NATS message's headers to the event, its
 * resolution and the `_entities` fetch (whose request carries the trace to the subgraph); a
 * subscription's span continues its client's traceparent from the WebSocket upgrade.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { type Collector, startCollector } from "../helpers/otlp.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";
import { type RunningSubgraph, startSubgraph } from "../helpers/subgraphs.js";

const EVENTS = `
type Subscription { orderUpdated(id: ID!): Order! @edfs__natsSubscribe(subjects: ["orders.{{ args.id }}"]) }
type Mutation { updateOrder(id: ID!): edfs__PublishResult! @edfs__natsPublish(subject: "orders.{{ args.id }}") }
type Order @key(fields: "id", resolvable: false) { id: ID! @external }
`;
const ORDERS = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
type Query { order(id: ID!): Order }
type Order @key(fields: "id") { id: ID!  total: Int! }
`;

const CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c";
const PUBLISH_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const tp = (trace: string, span: string) => `00-${trace}-${span}-01`;

let nats: NatsServer;
let nc: NatsConnection;
let collector: Collector;
let subgraph: RunningSubgraph;
let router: RunningRouter;

beforeAll(async () => {
  [nats, collector] = await Promise.all([startNats(), startCollector()]);
  nc = await connect({ servers: nats.url });
  subgraph = await startSubgraph(ORDERS, {
    Order: {
      __resolveReference: (o: { id: string }) => ({ id: o.id, total: 7 }),
    },
  });
  const dir = await tempFiles({
    "events.graphql": EVENTS,
    "orders.graphql": ORDERS,
    "config.yaml": `listen_addr: 127.0.0.1:0
shutdown_grace_period: 2s
subgraphs:
  - name: events
    schema_file: ./events.graphql
  - name: orders
    routing_url: ${subgraph.url}
    schema_file: ./orders.graphql
events:
  providers:
    nats:
      - id: default
        url: ${nats.url}
telemetry:
  service_name: sg-test
  tracing:
    enabled: true
    exporters:
      - endpoint: ${collector.url}
        batch_timeout: 100ms
`,
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
});

afterAll(async () => {
  await nc?.close();
  await router?.stop();
  await Promise.all([subgraph?.stop(), collector?.close(), nats?.stop()]);
});

describe("traces", () => {
  it("follows a client's traceparent into the subscribe span, and a publish through the broker to the _entities fetch", async () => {
    const seenHeaders: string[] = [];
    const raw = nc.subscribe("orders.1", {
      callback: (_e, m) => {
        seenHeaders.push(m.headers?.get("traceparent") ?? "");
      },
    });
    const ws = new WebSocket(`${router.ws}/graphql`, "graphql-transport-ws", {
      headers: { traceparent: tp(CLIENT_TRACE, "b7ad6b7169203331") },
    });
    const frames: { type: string; payload?: unknown }[] = [];
    ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.on("open", r));
    ws.send(JSON.stringify({ type: "connection_init" }));
    ws.send(
      JSON.stringify({
        id: "1",
        type: "subscribe",
        payload: { query: 'subscription { orderUpdated(id: "1") { id total } }' },
      }),
    );
    await vi.waitFor(
      () => expect(collector.spans.some((s) => s.name === "streamgate.subscribe")).toBe(true),
      {
        timeout: 5000,
      },
    );
    const subscribe = collector.spans.find((s) => s.name === "streamgate.subscribe")!;
    expect(subscribe.traceId).toBe(CLIENT_TRACE);
    expect(subscribe.parentSpanId).toBe("b7ad6b7169203331");

    const res = await fetch(`${router.http}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: tp(PUBLISH_TRACE, "00f067aa0ba902b7") },
      body: JSON.stringify({ query: 'mutation { updateOrder(id: "1") { success } }' }),
    });
    expect(await res.json()).toEqual({ data: { updateOrder: { success: true } } });
    await vi.waitFor(() => expect(frames.some((f) => f.type === "next")).toBe(true), { timeout: 5000 });
    expect(frames.find((f) => f.type === "next")!.payload).toEqual({
      data: { orderUpdated: { id: "1", total: 7 } },
    });

    const names = [
      "streamgate.publish",
      "streamgate.event",
      "streamgate.resolve",
      "streamgate.subgraph.fetch",
    ];
    await vi.waitFor(
      () =>
        expect(
          names.every((n) => collector.spans.some((s) => s.name === n && s.traceId === PUBLISH_TRACE)),
        ).toBe(true),
      { timeout: 5000 },
    );
    const span = (n: string) => collector.spans.find((s) => s.name === n && s.traceId === PUBLISH_TRACE)!;
    expect(span("streamgate.publish").parentSpanId).toBe("00f067aa0ba902b7");
    expect(span("streamgate.event").parentSpanId).toBe(span("streamgate.publish").spanId);
    expect(span("streamgate.resolve").parentSpanId).toBe(span("streamgate.event").spanId);
    // Made by the first group that needed it (a fetch may serve several groups of the event).
    expect(span("streamgate.subgraph.fetch").parentSpanId).toBe(span("streamgate.resolve").spanId);
    expect(span("streamgate.event").attributes["messaging.destination.name"]).toBe("orders.1");
    // The context crossed the broker and reached the subgraph.
    await nc.flush();
    expect(seenHeaders.some((h) => h.includes(PUBLISH_TRACE))).toBe(true);
    expect(subgraph.traceparents.some((h) => h.includes(PUBLISH_TRACE))).toBe(true);
    raw.unsubscribe();
    ws.close();
  });

  it("ignores a malformed traceparent (a new trace starts)", async () => {
    const before = collector.spans.length;
    const res = await fetch(`${router.http}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: "00-not-a-trace-01" },
      body: JSON.stringify({ query: 'mutation { updateOrder(id: "2") { success } }' }),
    });
    expect(res.status).toBe(200);
    await vi.waitFor(() =>
      expect(collector.spans.slice(before).some((s) => s.name === "streamgate.publish")).toBe(true),
    );
    const publish = collector.spans.slice(before).find((s) => s.name === "streamgate.publish")!;
    expect(publish.parentSpanId ?? "").toBe("");
    expect(publish.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
