/**
 * graphql-transport-ws session (the `graphql-ws` library's protocol): protocol violations become
 * its close codes, never exceptions; one socket's mistakes never reach another socket.
 */
import {
  CloseCode,
  complete,
  connectionAck,
  errorMessage,
  NEXT_FRAME_SUFFIX,
  nextFramePrefix,
  parseClientMessage,
  ping,
  pong,
} from "../protocol/graphql-transport-ws.js";
import { BaseSession, type OperationFrames } from "./base.js";
import { sharedPrefixes } from "./prefixes.js";
import type { RequestContext, SessionDeps, SessionSocket } from "./socket.js";

const FRAMES: OperationFrames = {
  nextPrefix: sharedPrefixes(nextFramePrefix),
  nextSuffix: NEXT_FRAME_SUFFIX,
  error: errorMessage,
  complete,
};

export class TransportWsSession extends BaseSession {
  readonly frames = FRAMES;

  constructor(socket: SessionSocket, deps: SessionDeps, ctx: RequestContext) {
    super(socket, deps, ctx, CloseCode.ConnectionInitialisationTimeout);
  }

  /** Idle at-least-once operations get their newest cursor in a server ping (docs/delivery.md). */
  override cursorBeat(): void {
    const cursors = this.staleCursors();
    if (cursors) this.send(ping({ cursors }));
  }

  onMessage(data: string | ArrayBuffer | Uint8Array): void {
    const msg = this.parse(data, parseClientMessage);
    if (!msg) return;
    switch (msg.type) {
      case "connection_init":
        this.init(msg.payload, () => this.send(connectionAck()));
        return;
      case "ping":
        // A ping may carry a fresh token (contract.md, "Authentication").
        if (msg.payload) this.refresh(msg.payload);
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
