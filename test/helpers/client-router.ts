/**
 * Shared set-up of the client's end-to-end tests: a built router on a fixed port that can be
 * SIGKILLed and started again on that port, an upgrade-refusing HTTP proxy, and event counting.
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import { createServer as createTcpServer, connect as tcpConnect, type Socket } from "node:net";
import { freePort } from "./brokers/net.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "./router.js";

/** One subject per event (`employeeUpdated.<n>`): the entity id carries the event's number. */
export const EVENTS_SDL = `
type Mutation {
  updateEmployee(id: ID!, update: EmployeeUpdate!): edfs__PublishResult! @edfs__natsPublish(subject: "employeeUpdated.{{ args.id }}")
}
type Subscription {
  anyEmployeeUpdated: Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.*"])
  streamEmployeeUpdated: Employee! @edfs__natsSubscribe(subjects: ["employeeUpdated.*"], streamConfiguration: { consumerName: "client", streamName: "employees" })
}
input EmployeeUpdate { name: String }
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;

export const ANY_SUB = "subscription { anyEmployeeUpdated { id } }";
export const STREAM_SUB = "subscription { streamEmployeeUpdated { id } }";

/** A router that can be killed and brought back on the same port. */
export interface RestartableRouter {
  readonly port: number;
  readonly ws: string;
  readonly http: string;
  current: RunningRouter;
  /** SIGKILL, then a new process on the same port (and config). */
  restart(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the router with `providerYaml` (the `events.providers` block) and `extraYaml`. */
export async function startRestartableRouter(
  providerYaml: string,
  extraYaml = "",
): Promise<RestartableRouter> {
  const port = await freePort();
  const dir = await tempFiles({
    "events.graphql": EVENTS_SDL,
    "config.yaml": `listen_addr: 127.0.0.1:${port}
shutdown_grace_period: 2s
heartbeat_interval: 1s
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
${providerYaml}
${extraYaml}`,
  });
  const args = ["--config", `${dir}/config.yaml`];
  const r: RestartableRouter = {
    port,
    ws: `ws://127.0.0.1:${port}/graphql`,
    http: `http://127.0.0.1:${port}/graphql`,
    current: await startRouterProcess(args),
    async kill() {
      await r.current.stop("SIGKILL");
    },
    async start() {
      r.current = await startRouterProcess(args);
    },
    async restart() {
      await r.kill();
      await r.start();
    },
    async stop() {
      await r.current.stop();
    },
  };
  return r;
}

/** Publishes through the router's publish mutation (plain fetch, independent of the client under test). */
export async function publish(http: string, id: string | number): Promise<boolean> {
  try {
    const res = await fetch(http, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `mutation { updateEmployee(id: "${id}", update: {}) { success } }` }),
    });
    const body = (await res.json()) as { data?: { updateEmployee?: { success?: boolean } } };
    return body.data?.updateEmployee?.success === true;
  } catch {
    return false;
  }
}

/**
 * TEST DOUBLE of a proxy that forwards plain HTTP (streams included) to the router and refuses
 * every WebSocket upgrade with 403, like corporate proxies that break WebSockets.
 */
export async function startUpgradeRefusingProxy(
  targetPort: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest(
      { host: "127.0.0.1", port: targetPort, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("upgrade", (_req, socket) => {
    socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `ws://127.0.0.1:${port}/graphql`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * TEST DOUBLE of the network between client and router: a TCP relay whose `cut()` destroys every
 * connection through it at once (like a dropped Wi-Fi or a NAT timeout) while it keeps accepting
 * new ones, so the client can reconnect to the same router.
 */
export async function startCuttableLink(targetPort: number): Promise<{
  port: number;
  ws: string;
  http: string;
  open(): number;
  cut(): number;
  close(): Promise<void>;
}> {
  const open = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = tcpConnect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    ws: `ws://127.0.0.1:${port}/graphql`,
    http: `http://127.0.0.1:${port}/graphql`,
    open: () => open.size,
    cut: () => {
      const n = open.size;
      for (const s of open) s.destroy();
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
