/** Real-client helpers for end-to-end tests: the public graphql-ws client and raw sockets. */
import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";

export interface Collected<T = unknown> {
  readonly values: T[];
  readonly errors: unknown[];
  completed: boolean;
  unsubscribe(): void;
}

export function wsClient(url: string): Client {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
}

/** Subscribes and collects; resolves once the server has the subscription (first ack + a tick). */
export function collect<T = unknown>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Collected<T> {
  const c: Collected<T> = {
    values: [],
    errors: [],
    completed: false,
    unsubscribe: () => {},
  };
  c.unsubscribe = client.subscribe<T>(
    { query, ...(variables ? { variables } : {}) },
    {
      next: (v) => c.values.push(v as T),
      error: (e) => c.errors.push(e),
      complete: () => {
        c.completed = true;
      },
    },
  );
  return c;
}

/** A raw graphql-transport-ws socket that records frames and the close. */
export interface RawSocket {
  readonly ws: WebSocket;
  readonly frames: Record<string, unknown>[];
  closed?: { code: number; reason: string };
  send(msg: unknown): void;
}

export function rawSocket(url: string, protocol = "graphql-transport-ws"): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol);
    const raw: RawSocket = {
      ws,
      frames: [],
      send: (m) => ws.send(typeof m === "string" ? m : JSON.stringify(m)),
    };
    ws.on("message", (d) => raw.frames.push(JSON.parse(d.toString())));
    ws.on("close", (code, reason) => {
      raw.closed = { code, reason: reason.toString() };
    });
    ws.on("open", () => resolve(raw));
    ws.on("error", reject);
    ws.on("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
  });
}

/**
 * A raw graphql-transport-ws socket, acknowledged and subscribed as operation "s" to `query`,
 * resuming from `cursor` when given (payload.extensions.cursor, docs/delivery.md).
 */
export async function rawSubscribe(url: string, query: string, cursor?: string): Promise<RawSocket> {
  const raw = await rawSocket(url);
  raw.send({ type: "connection_init" });
  await new Promise<void>((resolve, reject) => {
    const acked = () => {
      if (raw.frames[0]?.type !== "connection_ack") return;
      raw.ws.off("message", acked);
      resolve();
    };
    raw.ws.on("message", acked);
    raw.ws.once("close", () =>
      reject(new Error(`closed before connection_ack: ${JSON.stringify(raw.closed)}`)),
    );
  });
  raw.send({ id: "s", type: "subscribe", payload: { query, ...(cursor ? { extensions: { cursor } } : {}) } });
  return raw;
}

export async function postGraphql(
  http: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; contentType: string | null }> {
  const res = await fetch(`${http}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    contentType: res.headers.get("content-type"),
  };
}
