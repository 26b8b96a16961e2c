/**
 * SubgraphClient against a real node:http server that misbehaves the ways a subgraph can: slow,
 * silent, not JSON, an error status, too big, gone, closing its keep-alive sockets. Every failure
 * is a SubgraphError that names the subgraph and never its URL.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_SUBGRAPH_RESPONSE_BYTES, SubgraphClient, SubgraphError } from "../../../src/subgraphs/client.js";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let handler: Handler = (_req, _body, res) => res.end("{}");
let server: Server;
let url: string;
const seen: { headers: IncomingMessage["headers"]; body: string; socket: unknown }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ headers: req.headers, body, socket: req.socket });
      handler(req, body, res);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql?x=1`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function client(timeoutMs = 2000, target = url): SubgraphClient {
  return new SubgraphClient(new Map([["employees", { name: "employees", url: target }]]) as never, timeoutMs);
}

async function failure(p: Promise<unknown>, name = "employees"): Promise<SubgraphError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SubgraphError);
  const e = err as SubgraphError;
  expect(e.message.startsWith(`subgraph ${name} `)).toBe(true);
  expect(e.message).not.toContain("127.0.0.1");
  return e;
}

describe("SubgraphClient over node:http", () => {
  it("POSTs the query as JSON to the path and query string, with trace headers, and parses the answer", async () => {
    handler = (_req, body, res) => {
      const { variables } = JSON.parse(body) as { variables: { id: string } };
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ data: { employee: { id: variables.id } } }));
    };
    const c = client();
    const answer = await c.post("employees", "query($id: ID!) { employee(id: $id) { id } }", { id: "7" });
    expect(answer).toEqual({ data: { employee: { id: "7" } } });
    const last = seen.at(-1)!;
    expect(last.headers["content-type"]).toBe("application/json");
    expect(last.headers.accept).toContain("application/graphql-response+json");
    expect(Number(last.headers["content-length"])).toBe(Buffer.byteLength(last.body));
    expect(c.stats.get("employees")).toEqual({ requests: 1, failures: 0 });
    await c.close();
  });

  it("reuses a keep-alive connection for the next request", async () => {
    handler = (_req, _body, res) => res.end('{"data":{}}');
    const c = client();
    await c.post("employees", "{ a }", {});
    await c.post("employees", "{ b }", {});
    expect(seen.at(-1)!.socket).toBe(seen.at(-2)!.socket);
    await c.close();
  });

  it("sends again on a fresh connection when the server closed the idle keep-alive one", async () => {
    handler = (_req, _body, res) => res.end('{"data":{"n":1}}');
    const c = client();
    await c.post("employees", "{ a }", {});
    // The server drops every idle connection, as one with a short keep-alive timeout does.
    // Sent at once, before this side has read the server's FIN: the reused socket fails with a
    // reset, and the client sends the request again on a new connection.
    server.closeIdleConnections();
    await expect(c.post("employees", "{ a }", {})).resolves.toEqual({ data: { n: 1 } });
    await c.close();
  });

  it("keeps data and errors of a non-2xx answer that has them; a bare error status is a failure", async () => {
    handler = (_req, _body, res) => {
      res.statusCode = 500;
      res.end(JSON.stringify({ errors: [{ message: "cursed" }] }));
    };
    const c = client();
    await expect(c.post("employees", "{ a }", {})).resolves.toEqual({ errors: [{ message: "cursed" }] });
    handler = (_req, _body, res) => {
      res.statusCode = 503;
      res.end("{}");
    };
    expect((await failure(c.post("employees", "{ a }", {}))).message).toBe(
      "subgraph employees answered HTTP 503",
    );
    await c.close();
  });

  it("an answer that is not JSON", async () => {
    handler = (_req, _body, res) => res.end("<html>gateway error</html>");
    const c = client();
    expect((await failure(c.post("employees", "{ a }", {}))).message).toContain("body that is not JSON");
    expect(c.stats.get("employees")).toEqual({ requests: 1, failures: 1 });
    await c.close();
  });

  it("JSON that is not an object is no GraphQL response", async () => {
    const c = client();
    for (const text of ["null", "0", '"data"', "[]", "true"]) {
      handler = (_req, _body, res) => res.end(text);
      expect((await failure(c.post("employees", "{ a }", {}))).message).toBe(
        "subgraph employees answered HTTP 200 with JSON that is not a GraphQL response",
      );
    }
    await c.close();
  });

  it("a subgraph that never answers, and one that stops halfway through its body, time out", async () => {
    handler = () => {}; // never answers
    const c = client(300);
    const t0 = Date.now();
    expect((await failure(c.post("employees", "{ a }", {}))).message).toBe(
      "subgraph employees timed out after 300 ms",
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    handler = (_req, _body, res) => res.write('{"data":'); // headers and half a body, then silence
    expect((await failure(c.post("employees", "{ a }", {}))).message).toBe(
      "subgraph employees timed out after 300 ms",
    );
    await c.close();
  });

  it("an answer larger than the bound fails instead of filling memory", async () => {
    handler = (_req, _body, res) => {
      const mb = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const more = (): void => {
        while (sent <= MAX_SUBGRAPH_RESPONSE_BYTES / mb.length + 1) {
          sent++;
          if (!res.write(mb)) {
            res.once("drain", more);
            return;
          }
        }
        res.end();
      };
      res.on("error", () => {});
      more();
    };
    const c = client(20_000);
    expect((await failure(c.post("employees", "{ a }", {}))).message).toBe(
      `subgraph employees answered with more than ${MAX_SUBGRAPH_RESPONSE_BYTES} bytes`,
    );
    await c.close();
  });

  it("a connection the server resets mid-answer, and a port nobody listens on", async () => {
    handler = (req) => req.socket.destroy();
    const c = client();
    expect((await failure(c.post("employees", "{ a }", {}))).message).toBe(
      "subgraph employees could not be reached",
    );
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, "close");
    const gone = client(2000, `http://127.0.0.1:${port}/graphql`);
    expect((await failure(gone.post("employees", "{ a }", {}))).message).toBe(
      "subgraph employees could not be reached",
    );
    await c.close();
    await gone.close();
  });

  it("a subgraph with no routing_url is refused by name", async () => {
    const c = client();
    expect((await failure(c.post("nobody", "{ a }", {}), "nobody")).message).toBe(
      "subgraph nobody has no routing_url",
    );
    await c.close();
  });
});
