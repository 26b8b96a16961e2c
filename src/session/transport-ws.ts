/**
 * graphql-transport-ws session (the `graphql-ws` library's protocol): protocol violations become
 * its close codes, never exceptions; one socket's mistakes never reach another socket.
 */
import type { Engine } from "../engine/engine.js";
import {
  CloseCode,
  complete,
  connectionAck,
  errorMessage,
  NEXT_FRAME_SUFFIX,
  nextFramePrefix,
  parseClientMessage,
  pong,
} from "../protocol/graphql-transport-ws.js";
import { BaseSession, type OperationFrames } from "./base.js";
import type { SessionLimits, SessionSocket, Timers } from "./socket.js";

export type { ConnectionContext } from "./base.js";

const FRAMES: OperationFrames = {
  nextPrefix: nextFramePrefix,
  nextSuffix: NEXT_FRAME_SUFFIX,
  error: errorMessage,
  complete,
};

export class TransportWsSession extends BaseSession {
  readonly frames = FRAMES;

  constructor(socket: SessionSocket, engine: Pick<Engine, "execute">, limits: SessionLimits, timers: Timers) {
    super(socket, engine, limits, timers, CloseCode.ConnectionInitialisationTimeout);
  }

  onMessage(data: string | ArrayBuffer | Uint8Array): void {
    const msg = this.parse(data, parseClientMessage);
    if (!msg) return;
    switch (msg.type) {
      case "connection_init":
        if (this.init(msg.payload)) this.send(connectionAck());
        return;
      case "ping":
        this.send(pong(msg.payload));
        return;
      case "pong":
        return;
      case "subscribe":
        if (!this.requireAck()) return;
        if (this.ops.has(msg.id)) {
          this.closeWith(CloseCode.SubscriberAlreadyExists, `Subscriber for ${msg.id} already exists`);
          return;
        }
        this.start(msg.id, msg.payload);
        return;
      case "complete":
        this.stop(msg.id);
        return;
    }
  }
}
