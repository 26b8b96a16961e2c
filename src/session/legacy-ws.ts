/**
 * Legacy `graphql-ws` session (subscriptions-transport-ws, Apollo's old client): `start`/`stop`,
 * `data`/`error`/`complete`, and `ka` keep-alives every heartbeat interval after the ack. It has
 * no close-code vocabulary of its own; we reuse graphql-transport-ws's codes for violations.
 */
import { CloseCode } from "../protocol/graphql-transport-ws.js";
import {
  complete,
  connectionAck,
  DATA_FRAME_SUFFIX,
  dataFramePrefix,
  error,
  keepAlive,
  parseLegacyClientMessage,
} from "../protocol/graphql-ws-legacy.js";
import { BaseSession, type OperationFrames } from "./base.js";
import { sharedPrefixes } from "./prefixes.js";
import type { RequestContext, SessionDeps, SessionSocket } from "./socket.js";

const FRAMES: OperationFrames = {
  nextPrefix: sharedPrefixes(dataFramePrefix),
  nextSuffix: DATA_FRAME_SUFFIX,
  error,
  complete,
};

export class LegacyWsSession extends BaseSession {
  readonly frames = FRAMES;
  private keepAliveTimer: unknown;

  constructor(socket: SessionSocket, deps: SessionDeps, ctx: RequestContext) {
    super(socket, deps, ctx, CloseCode.ConnectionInitialisationTimeout);
  }

  onMessage(data: string | ArrayBuffer | Uint8Array): void {
    const msg = this.parse(data, parseLegacyClientMessage);
    if (!msg) return;
    switch (msg.type) {
      case "connection_init":
        this.init(msg.payload, () => {
          this.send(connectionAck());
          this.send(keepAlive());
          this.keepAliveTimer = this.deps.timers.setInterval(
            () => this.send(keepAlive()),
            this.deps.keepAliveMs,
          );
        });
        return;
      case "start":
        if (!this.requireAck()) return;
        // subscriptions-transport-ws replaces an operation started again under the same id.
        this.stop(msg.id);
        this.start(msg.id, msg.payload);
        return;
      case "stop":
        this.stop(msg.id);
        return;
      case "connection_terminate":
        this.closeWith(1000, "terminated by client");
        return;
    }
  }

  protected override onStateClosed(): void {
    if (this.keepAliveTimer !== undefined) this.deps.timers.clearInterval(this.keepAliveTimer);
  }
}
