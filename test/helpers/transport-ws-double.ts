/**
 * TEST DOUBLE of a graphql-transport-ws server, built on the `ws` package, for protocol cases the
 * router does not speak yet (cursors, heartbeat cursors, a `complete` before close 1001 with
 * cursors) or that need a misbehaving or precisely timed server (silence, garbage, chosen close
 * codes, an error at a chosen moment). Each test scripts it through
 * `onMessage`; every frame and connection is recorded. Cases the router already handles run
 * against the real router too (test/e2e/client-router.test.ts, client-auth.test.ts).
 */
import { WebSocketServer, type WebSocket as WsSocket } from "ws";

export interface DoubleConnection {
  readonly socket: WsSocket;
  /** Frames the client sent on this connection, parsed. */
  readonly received: Record<string, unknown>[];
  send(frame: unknown): void;
  close(code: number, reason?: string): void;
  /** Drops the TCP connection without a close frame (like a killed router). */
  kill(): void;
}

export interface TransportWsDouble {
  readonly url: string;
  readonly port: number;
  readonly connections: DoubleConnection[];
  /** Every frame of every connection, in order. */
  readonly frames: Record<string, unknown>[];
  /**
   * Scripts the reply to a client frame. The default acks `connection_init`, answers `ping` with
   * `pong` and ignores the rest.
   */
  onMessage: (conn: DoubleConnection, frame: Record<string, unknown>) => void;
  /** Subscribe frames seen so far, across connections. */
  subscribes(): { id: string; payload: Record<string, unknown> }[];
  close(): Promise<void>;
}

export function defaultReply(conn: DoubleConnection, frame: Record<string, unknown>): void {
  if (frame.type === "connection_init") conn.send({ type: "connection_ack" });
  else if (frame.type === "ping") conn.send({ type: "pong" });
}

export async function startTransportWsDouble(port = 0): Promise<TransportWsDouble> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port, handleProtocols: () => "graphql-transport-ws" });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const address = wss.address();
  const bound = typeof address === "object" && address ? address.port : port;
  const double: TransportWsDouble = {
    url: `ws://127.0.0.1:${bound}/graphql`,
    port: bound,
    connections: [],
    frames: [],
    onMessage: defaultReply,
    subscribes: () =>
      double.frames
        .filter((f) => f.type === "subscribe")
        .map((f) => ({ id: String(f.id), payload: f.payload as Record<string, unknown> })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on("connection", (socket) => {
    const conn: DoubleConnection = {
      socket,
      received: [],
      send: (frame) => socket.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
      close: (code, reason) => socket.close(code, reason),
      kill: () => socket.terminate(),
    };
    double.connections.push(conn);
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      conn.received.push(frame);
      double.frames.push(frame);
      double.onMessage(conn, frame);
    });
  });
  return double;
}
