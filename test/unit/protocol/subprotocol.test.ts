import { describe, expect, it } from "vitest";
import { offersSubprotocols, selectSubprotocol } from "../../../src/protocol/subprotocol.js";

describe("selectSubprotocol", () => {
  it.each<[string | undefined, "graphql-transport-ws" | "graphql-ws" | null]>([
    // Tolerated: no header at all, or one that names nothing.
    [undefined, "graphql-transport-ws"],
    ["", "graphql-transport-ws"],
    [" , ,", "graphql-transport-ws"],
    ["graphql-transport-ws", "graphql-transport-ws"],
    ["graphql-ws", "graphql-ws"],
    // graphql-transport-ws is preferred whatever the client's order.
    ["graphql-ws, graphql-transport-ws", "graphql-transport-ws"],
    ["graphql-transport-ws,graphql-ws", "graphql-transport-ws"],
    ["  graphql-ws  ,  graphql-transport-ws  ", "graphql-transport-ws"],
    ["mqtt, graphql-ws", "graphql-ws"],
    ["graphql-ws,,soap", "graphql-ws"],
    ["\tgraphql-ws\t", "graphql-ws"],
    // Offered, but nothing we speak: refused.
    ["mqtt", null],
    ["soap, wamp", null],
    ["GRAPHQL-WS", null],
    ["graphql-transport-ws-v2", null],
    ["graphql", null],
    ["graphql-ws graphql-transport-ws", null],
  ])("%j → %j", (header, expected) => {
    expect(selectSubprotocol(header)).toBe(expected);
  });
});

describe("offersSubprotocols", () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ["", false],
    [" , ", false],
    ["graphql-ws", true],
    ["mqtt", true],
  ])("%j → %j", (header, expected) => {
    expect(offersSubprotocols(header)).toBe(expected);
  });
});
