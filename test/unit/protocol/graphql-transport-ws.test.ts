import { CloseCode as WsCloseCode, parseMessage as wsParseMessage } from "graphql-ws";
import { describe, expect, it } from "vitest";
import {
  type ClientMessage,
  CloseCode,
  GRAPHQL_TRANSPORT_WS_PROTOCOL,
  MessageType,
  parseClientMessage,
} from "../../../src/protocol/graphql-transport-ws.js";

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

function parsed(data: string | ArrayBuffer | Uint8Array): ClientMessage {
  const result = parseClientMessage(data);
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result.message;
}

function reason(data: string | ArrayBuffer | Uint8Array): string {
  const result = parseClientMessage(data);
  if (result.ok) throw new Error(`expected failure, got ${JSON.stringify(result.message)}`);
  return result.reason;
}

describe("constants", () => {
  it("names the subprotocol", () => {
    expect(GRAPHQL_TRANSPORT_WS_PROTOCOL).toBe("graphql-transport-ws");
  });

  it("matches every graphql-ws close code and adds the two standard ones", () => {
    for (const [name, code] of Object.entries(WsCloseCode)) {
      if (typeof code !== "number") continue; // skip the enum's reverse mapping
      expect(CloseCode[name as keyof typeof CloseCode], name).toBe(code);
    }
    expect(CloseCode.GoingAway).toBe(1001);
    expect(CloseCode.SlowConsumer).toBe(1013);
    expect(Object.keys(CloseCode)).toHaveLength(13);
  });

  it("uses the protocol's message type strings", () => {
    expect(MessageType).toEqual({
      ConnectionInit: "connection_init",
      ConnectionAck: "connection_ack",
      Ping: "ping",
      Pong: "pong",
      Subscribe: "subscribe",
      Next: "next",
      Error: "error",
      Complete: "complete",
    });
  });
});

describe("parseClientMessage: valid frames", () => {
  const valid: [string, string, ClientMessage][] = [
    ["init without payload", '{"type":"connection_init"}', { type: "connection_init" }],
    [
      "init with null payload",
      '{"type":"connection_init","payload":null}',
      { type: "connection_init", payload: null },
    ],
    [
      "init with params",
      '{"type":"connection_init","payload":{"Authorization":"Bearer x"}}',
      { type: "connection_init", payload: { Authorization: "Bearer x" } },
    ],
    ["ping", '{"type":"ping"}', { type: "ping" }],
    ["ping with payload", '{"type":"ping","payload":{"t":1}}', { type: "ping", payload: { t: 1 } }],
    ["pong", '{"type":"pong"}', { type: "pong" }],
    [
      "minimal subscribe",
      '{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}',
      { id: "1", type: "subscribe", payload: { query: "{ a }" } },
    ],
    [
      "full subscribe",
      '{"id":"a-b","type":"subscribe","payload":{"query":"subscription S($x: ID) { a(x: $x) }",' +
        '"operationName":"S","variables":{"x":"7"},"extensions":{"persistedQuery":{"version":1}}}}',
      {
        id: "a-b",
        type: "subscribe",
        payload: {
          query: "subscription S($x: ID) { a(x: $x) }",
          operationName: "S",
          variables: { x: "7" },
          extensions: { persistedQuery: { version: 1 } },
        },
      },
    ],
    [
      "subscribe with nulls",
      '{"id":"1","type":"subscribe","payload":{"query":"","operationName":null,"variables":null,"extensions":null}}',
      {
        id: "1",
        type: "subscribe",
        payload: { query: "", operationName: null, variables: null, extensions: null },
      },
    ],
    ["complete", '{"id":"1","type":"complete"}', { id: "1", type: "complete" }],
  ];

  it.each(valid)("%s", (_name, frame, expected) => {
    expect(parsed(frame)).toStrictEqual(expected);
    // The reference implementation agrees that the frame is valid.
    expect(() => wsParseMessage(frame)).not.toThrow();
  });

  it("drops unknown fields at every level", () => {
    const message = parsed(
      '{"id":"1","type":"subscribe","extra":1,"payload":{"query":"{a}","__proto__":{"x":1},"more":2}}',
    );
    expect(message).toStrictEqual({ id: "1", type: "subscribe", payload: { query: "{a}" } });
    expect(parsed('{"id":"1","type":"complete","payload":{"x":1}}')).toStrictEqual({
      id: "1",
      type: "complete",
    });
  });

  it("accepts Uint8Array, Buffer and ArrayBuffer frames", () => {
    const frame = '{"id":"é","type":"complete"}';
    const u8 = new TextEncoder().encode(frame);
    expect(parsed(u8)).toStrictEqual({ id: "é", type: "complete" });
    expect(parsed(Buffer.from(frame))).toStrictEqual({ id: "é", type: "complete" });
    expect(parsed(u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength))).toStrictEqual({
      id: "é",
      type: "complete",
    });
  });

  it("reads only the view's bytes of a Uint8Array over a larger buffer", () => {
    const whole = new TextEncoder().encode('xx{"type":"ping"}yy');
    expect(parsed(whole.subarray(2, whole.byteLength - 2))).toStrictEqual({ type: "ping" });
  });
});

describe("parseClientMessage: invalid frames", () => {
  const invalid: [string, string | Uint8Array, RegExp][] = [
    ["malformed JSON", '{"type":', /not valid JSON/],
    ["empty frame", "", /not valid JSON/],
    ["JSON string", '"connection_init"', /JSON object, got string/],
    ["JSON number", "42", /JSON object, got number/],
    ["JSON null", "null", /JSON object, got null/],
    ["JSON array", '[{"type":"ping"}]', /JSON object, got array/],
    ["missing type", "{}", /missing 'type'/],
    ["type not string", '{"type":1}', /'type' must be a string, got number/],
    ["type null", '{"type":null}', /'type' must be a string, got null/],
    ["unknown type", '{"type":"hello"}', /Unexpected message type "hello"/],
    ["empty type", '{"type":""}', /Unexpected message type ""/],
    ["server-only next", '{"id":"1","type":"next","payload":{}}', /Unexpected message type "next"/],
    ["server-only connection_ack", '{"type":"connection_ack"}', /Unexpected message type "connection_ack"/],
    ["server-only error", '{"id":"1","type":"error","payload":[{"message":"x"}]}', /Unexpected.*"error"/],
    [
      "legacy start",
      '{"id":"1","type":"start","payload":{"query":"{a}"}}',
      /Unexpected message type "start"/,
    ],
    ["init payload string", '{"type":"connection_init","payload":"token"}', /'payload' must be an object/],
    ["init payload array", '{"type":"connection_init","payload":[]}', /'payload' must be an object/],
    ["ping payload number", '{"type":"ping","payload":1}', /"ping" 'payload' must be an object/],
    ["pong payload bool", '{"type":"pong","payload":true}', /"pong" 'payload' must be an object/],
    ["subscribe missing id", '{"type":"subscribe","payload":{"query":"{a}"}}', /string 'id', got undefined/],
    ["subscribe empty id", '{"id":"","type":"subscribe","payload":{"query":"{a}"}}', /non-empty 'id'/],
    [
      "subscribe numeric id",
      '{"id":1,"type":"subscribe","payload":{"query":"{a}"}}',
      /string 'id', got number/,
    ],
    [
      "subscribe null id",
      '{"id":null,"type":"subscribe","payload":{"query":"{a}"}}',
      /string 'id', got null/,
    ],
    ["subscribe without payload", '{"id":"1","type":"subscribe"}', /object 'payload', got undefined/],
    ["subscribe null payload", '{"id":"1","type":"subscribe","payload":null}', /object 'payload', got null/],
    ["subscribe array payload", '{"id":"1","type":"subscribe","payload":[]}', /object 'payload', got array/],
    [
      "query missing",
      '{"id":"1","type":"subscribe","payload":{}}',
      /'query' must be a string, got undefined/,
    ],
    [
      "query not string",
      '{"id":"1","type":"subscribe","payload":{"query":1}}',
      /'query' must be a string, got number/,
    ],
    [
      "variables array",
      '{"id":"1","type":"subscribe","payload":{"query":"{a}","variables":[1]}}',
      /'variables' must be an object or null, got array/,
    ],
    [
      "variables string",
      '{"id":"1","type":"subscribe","payload":{"query":"{a}","variables":"{}"}}',
      /'variables' must be an object or null, got string/,
    ],
    [
      "extensions non-object",
      '{"id":"1","type":"subscribe","payload":{"query":"{a}","extensions":5}}',
      /'extensions' must be an object or null, got number/,
    ],
    [
      "operationName not string",
      '{"id":"1","type":"subscribe","payload":{"query":"{a}","operationName":{}}}',
      /'operationName' must be a string or null, got object/,
    ],
    ["complete missing id", '{"type":"complete"}', /"complete" needs a string 'id'/],
    ["complete empty id", '{"id":"","type":"complete"}', /"complete" needs a non-empty 'id'/],
    ["complete id array", '{"id":["1"],"type":"complete"}', /string 'id', got array/],
    ["invalid UTF-8 bytes", new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /not valid UTF-8/],
    ["truncated multibyte UTF-8", new Uint8Array([0x22, 0xe2, 0x82]), /not valid UTF-8/],
  ];

  it.each(invalid)("%s", (_name, frame, expected) => {
    const text = reason(frame);
    expect(text).toMatch(expected);
    expect(bytes(text)).toBeLessThanOrEqual(100);
    // Everything we reject, the reference implementation rejects too (or it is a server frame).
    if (typeof frame === "string" && !/"type":"(next|connection_ack|error)"/.test(frame)) {
      expect(() => wsParseMessage(frame)).toThrow();
    }
  });

  it("never throws, even on a lone surrogate or a deeply nested value", () => {
    expect(parseClientMessage('{"type":"\ud800"}').ok).toBe(false);
    expect(parseClientMessage(`${"[".repeat(100_000)}${"]".repeat(100_000)}`).ok).toBe(false);
    expect(parseClientMessage(new ArrayBuffer(0)).ok).toBe(false);
  });

  it("keeps reasons under 100 bytes when the client echoes a huge multibyte type", () => {
    const text = reason(JSON.stringify({ type: "€".repeat(10_000) }));
    expect(text.startsWith('Unexpected message type "€€€')).toBe(true);
    expect(bytes(text)).toBeLessThanOrEqual(100);
    expect(text).not.toContain("\ufffd");
  });
});
