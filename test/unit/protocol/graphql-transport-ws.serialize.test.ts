import { parseMessage as wsParseMessage } from "graphql-ws";
import { describe, expect, it } from "vitest";
import {
  closeReason,
  complete,
  connectionAck,
  errorMessage,
  NEXT_FRAME_SUFFIX,
  next,
  nextFramePrefix,
  ping,
  pong,
} from "../../../src/protocol/graphql-transport-ws.js";

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

describe("serializers: exact bytes", () => {
  it.each([
    ["connectionAck()", connectionAck(), '{"type":"connection_ack"}'],
    ["connectionAck(null)", connectionAck(null), '{"type":"connection_ack"}'],
    [
      "connectionAck(payload)",
      connectionAck({ server: "sg" }),
      '{"type":"connection_ack","payload":{"server":"sg"}}',
    ],
    ["ping()", ping(), '{"type":"ping"}'],
    ["ping(payload)", ping({ at: 1 }), '{"type":"ping","payload":{"at":1}}'],
    ["pong()", pong(), '{"type":"pong"}'],
    ["pong(null)", pong(null), '{"type":"pong"}'],
    ["pong(payload)", pong({ at: 2 }), '{"type":"pong","payload":{"at":2}}'],
    ["next", next("1", '{"data":{"a":1}}'), '{"id":"1","type":"next","payload":{"data":{"a":1}}}'],
    ["nextFramePrefix", nextFramePrefix("op"), '{"id":"op","type":"next","payload":'],
    ["NEXT_FRAME_SUFFIX", NEXT_FRAME_SUFFIX, "}"],
    [
      "errorMessage",
      errorMessage("9", [{ message: "boom", extensions: { code: "X" } }]),
      '{"id":"9","type":"error","payload":[{"message":"boom","extensions":{"code":"X"}}]}',
    ],
    [
      "errorMessage(empty)",
      errorMessage("9", []),
      '{"id":"9","type":"error","payload":[{"message":"Unknown error"}]}',
    ],
    ["complete", complete("1"), '{"id":"1","type":"complete"}'],
  ])("%s", (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });

  it("builds next from a cached prefix identically", () => {
    const payload = '{"data":{"n":42}}';
    expect(nextFramePrefix("x") + payload + NEXT_FRAME_SUFFIX).toBe(next("x", payload));
  });

  it("escapes ids with quotes, backslashes, control characters and unicode", () => {
    const id = 'a"b\\c\n\u0001é😀</script>';
    expect(complete(id)).toBe(`{"id":"a\\"b\\\\c\\n\\u0001é😀</script>","type":"complete"}`);
    expect(JSON.parse(next(id, "{}"))).toStrictEqual({ id, type: "next", payload: {} });
    expect(JSON.parse(errorMessage(id, [{ message: "m" }])).id).toBe(id);
    // A lone surrogate is escaped, so the frame stays valid UTF-8 on the wire.
    expect(nextFramePrefix("\ud800")).toBe('{"id":"\\ud800","type":"next","payload":');
  });

  it("round-trips a next frame to exactly {id, type, payload}", () => {
    const result = {
      data: { orderUpdated: { id: "o1", total: 12.5, tags: ["a", "ü"], note: null } },
      errors: [{ message: "partial", path: ["orderUpdated", "note"] }],
      extensions: { cursor: "c:1" },
    };
    const frame = next("sub-1", JSON.stringify(result));
    expect(JSON.parse(frame)).toStrictEqual({ id: "sub-1", type: "next", payload: result });
    expect(wsParseMessage(frame)).toStrictEqual({ id: "sub-1", type: "next", payload: result });
  });

  it("produces frames the reference implementation validates", () => {
    for (const frame of [
      connectionAck(),
      connectionAck({ a: 1 }),
      ping(),
      pong({ b: 2 }),
      next("1", '{"data":null}'),
      errorMessage("1", [{ message: "x" }]),
      errorMessage("1", []),
      complete("1"),
    ]) {
      expect(() => wsParseMessage(frame), frame).not.toThrow();
    }
  });
});

describe("closeReason", () => {
  it("keeps short reasons unchanged", () => {
    expect(closeReason("Unauthorized")).toBe("Unauthorized");
    expect(closeReason("")).toBe("");
  });

  it("keeps an exactly 123-byte reason and cuts a 124-byte one", () => {
    expect(closeReason("a".repeat(123))).toBe("a".repeat(123));
    expect(closeReason("a".repeat(124))).toBe("a".repeat(123));
  });

  it("cuts multibyte text on a character boundary", () => {
    const cut = closeReason("é".repeat(100)); // 2 bytes each
    expect(cut).toBe("é".repeat(61));
    expect(bytes(cut)).toBe(122);
    const euro = closeReason(`a${"€".repeat(100)}`); // 1 + 3n bytes
    expect(euro).toBe(`a${"€".repeat(40)}`);
    expect(bytes(euro)).toBe(121);
  });

  it("never splits a surrogate pair", () => {
    const cut = closeReason(`ab${"😀".repeat(60)}`); // 2 + 4n bytes
    expect(cut).toBe(`ab${"😀".repeat(30)}`);
    expect(bytes(cut)).toBe(122);
    expect(cut.at(-1)).not.toMatch(/[\ud800-\udbff]$/);
  });

  it("counts a lone surrogate as the 3 bytes it encodes to", () => {
    const cut = closeReason("\udc00".repeat(50));
    expect(cut).toBe("\udc00".repeat(41));
    expect(bytes(cut)).toBe(123);
  });
});
