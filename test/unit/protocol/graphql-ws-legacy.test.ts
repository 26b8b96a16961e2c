import { describe, expect, it } from "vitest";
import {
  complete,
  connectionAck,
  connectionError,
  DATA_FRAME_SUFFIX,
  data,
  dataFramePrefix,
  error,
  GQL_COMPLETE,
  GQL_CONNECTION_ACK,
  GQL_CONNECTION_ERROR,
  GQL_CONNECTION_INIT,
  GQL_CONNECTION_KEEP_ALIVE,
  GQL_CONNECTION_TERMINATE,
  GQL_DATA,
  GQL_ERROR,
  GQL_START,
  GQL_STOP,
  GRAPHQL_WS_LEGACY_PROTOCOL,
  keepAlive,
  type LegacyClientMessage,
  parseLegacyClientMessage,
} from "../../../src/protocol/graphql-ws-legacy.js";

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

function parsed(frame: string | ArrayBuffer | Uint8Array): LegacyClientMessage {
  const result = parseLegacyClientMessage(frame);
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result.message;
}

describe("constants", () => {
  it("uses the subscriptions-transport-ws names", () => {
    expect(GRAPHQL_WS_LEGACY_PROTOCOL).toBe("graphql-ws");
    expect([
      GQL_CONNECTION_INIT,
      GQL_CONNECTION_ACK,
      GQL_CONNECTION_ERROR,
      GQL_CONNECTION_KEEP_ALIVE,
      GQL_CONNECTION_TERMINATE,
      GQL_START,
      GQL_DATA,
      GQL_ERROR,
      GQL_COMPLETE,
      GQL_STOP,
    ]).toEqual([
      "connection_init",
      "connection_ack",
      "connection_error",
      "ka",
      "connection_terminate",
      "start",
      "data",
      "error",
      "complete",
      "stop",
    ]);
  });
});

describe("parseLegacyClientMessage: valid frames", () => {
  it.each<[string, string, LegacyClientMessage]>([
    ["init", '{"type":"connection_init"}', { type: "connection_init" }],
    [
      "init with params",
      '{"type":"connection_init","payload":{"token":"t"}}',
      { type: "connection_init", payload: { token: "t" } },
    ],
    [
      "init with null",
      '{"type":"connection_init","payload":null}',
      { type: "connection_init", payload: null },
    ],
    [
      "start",
      '{"id":"1","type":"start","payload":{"query":"subscription { a }","variables":{},"operationName":null}}',
      {
        id: "1",
        type: "start",
        payload: { query: "subscription { a }", variables: {}, operationName: null },
      },
    ],
    [
      "start with extensions",
      '{"id":"2","type":"start","payload":{"query":"{a}","extensions":{"x":1}}}',
      { id: "2", type: "start", payload: { query: "{a}", extensions: { x: 1 } } },
    ],
    ["stop", '{"id":"1","type":"stop"}', { id: "1", type: "stop" }],
    ["terminate", '{"type":"connection_terminate"}', { type: "connection_terminate" }],
    [
      "terminate ignores extras",
      '{"type":"connection_terminate","payload":5}',
      { type: "connection_terminate" },
    ],
  ])("%s", (_name, frame, expected) => {
    expect(parsed(frame)).toStrictEqual(expected);
  });

  it("accepts binary frames", () => {
    const u8 = new TextEncoder().encode('{"id":"ü","type":"stop"}');
    expect(parsed(u8)).toStrictEqual({ id: "ü", type: "stop" });
    expect(parsed(u8.buffer)).toStrictEqual({ id: "ü", type: "stop" });
  });
});

describe("parseLegacyClientMessage: invalid frames", () => {
  it.each<[string, string | Uint8Array, RegExp]>([
    ["malformed JSON", "{", /not valid JSON/],
    ["array", "[]", /JSON object, got array/],
    ["number", "1", /JSON object, got number/],
    ["missing type", '{"id":"1"}', /missing 'type'/],
    ["type not string", '{"type":true}', /'type' must be a string, got boolean/],
    [
      "unknown type",
      '{"type":"subscribe","id":"1","payload":{"query":"{a}"}}',
      /Unexpected message type "subscribe"/,
    ],
    ["server-only ka", '{"type":"ka"}', /Unexpected message type "ka"/],
    ["server-only data", '{"id":"1","type":"data","payload":{}}', /Unexpected message type "data"/],
    ["init payload string", '{"type":"connection_init","payload":"x"}', /'payload' must be an object/],
    [
      "start missing id",
      '{"type":"start","payload":{"query":"{a}"}}',
      /"start" needs a string 'id', got undefined/,
    ],
    ["start empty id", '{"id":"","type":"start","payload":{"query":"{a}"}}', /non-empty 'id'/],
    ["start numeric id", '{"id":1,"type":"start","payload":{"query":"{a}"}}', /string 'id', got number/],
    ["start without payload", '{"id":"1","type":"start"}', /object 'payload', got undefined/],
    [
      "start query not string",
      '{"id":"1","type":"start","payload":{"query":null}}',
      /'query' must be a string, got null/,
    ],
    [
      "start variables array",
      '{"id":"1","type":"start","payload":{"query":"{a}","variables":[]}}',
      /'variables'.*got array/,
    ],
    [
      "start extensions string",
      '{"id":"1","type":"start","payload":{"query":"{a}","extensions":"x"}}',
      /'extensions'/,
    ],
    [
      "start operationName number",
      '{"id":"1","type":"start","payload":{"query":"{a}","operationName":1}}',
      /'operationName'/,
    ],
    ["stop missing id", '{"type":"stop"}', /"stop" needs a string 'id'/],
    ["stop empty id", '{"id":"","type":"stop"}', /"stop" needs a non-empty 'id'/],
    ["invalid UTF-8", new Uint8Array([0xc3, 0x28]), /not valid UTF-8/],
  ])("%s", (_name, frame, expected) => {
    const result = parseLegacyClientMessage(frame);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toMatch(expected);
      expect(bytes(result.reason)).toBeLessThanOrEqual(100);
    }
  });

  it("bounds reasons that echo a huge type", () => {
    const result = parseLegacyClientMessage(JSON.stringify({ type: "x".repeat(5000) }));
    expect(result).toStrictEqual({ ok: false, reason: `Unexpected message type "${"x".repeat(32)}…"` });
  });
});

describe("serializers: exact bytes", () => {
  it.each([
    ["connectionAck", connectionAck(), '{"type":"connection_ack"}'],
    ["keepAlive", keepAlive(), '{"type":"ka"}'],
    [
      "connectionError",
      connectionError({ message: "Unauthorized" }),
      '{"type":"connection_error","payload":{"message":"Unauthorized"}}',
    ],
    ["data", data("1", '{"data":{"a":1}}'), '{"id":"1","type":"data","payload":{"data":{"a":1}}}'],
    ["dataFramePrefix", dataFramePrefix("7"), '{"id":"7","type":"data","payload":'],
    ["DATA_FRAME_SUFFIX", DATA_FRAME_SUFFIX, "}"],
    ["error", error("3", [{ message: "bad" }]), '{"id":"3","type":"error","payload":[{"message":"bad"}]}'],
    ["error(empty)", error("3", []), '{"id":"3","type":"error","payload":[{"message":"Unknown error"}]}'],
    ["complete", complete("3"), '{"id":"3","type":"complete"}'],
  ])("%s", (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });

  it("round-trips a data frame and escapes hostile ids", () => {
    const result = { data: { tick: { n: 1, s: 'q"\n' } } };
    const id = '"},{"type":"ka';
    const frame = data(id, JSON.stringify(result));
    expect(JSON.parse(frame)).toStrictEqual({ id, type: "data", payload: result });
    expect(dataFramePrefix(id) + JSON.stringify(result) + DATA_FRAME_SUFFIX).toBe(frame);
    expect(JSON.parse(complete(id))).toStrictEqual({ id, type: "complete" });
    expect(JSON.parse(error(id, [{ message: "m" }]))).toStrictEqual({
      id,
      type: "error",
      payload: [{ message: "m" }],
    });
  });
});
