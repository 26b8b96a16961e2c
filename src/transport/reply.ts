/**
 * The one way the router writes an HTTP response. uWS throws ("HttpResponse must not be accessed
 * after a successful response") on any access to a response that ended or whose client went away,
 * and an exception thrown from a uWS callback ends the process. So every response is wrapped here
 * first: the abort is tracked from the start, every write checks that the response is still open,
 * and a write uWS refuses anyway marks it finished instead of escaping.
 */
import type { HttpResponse } from "./uws.js";

export type Header = readonly [name: string, value: string];

const OPEN = 0;
const ENDED = 1;
const ABORTED = 2;

export class Reply {
  private state = OPEN;
  /** Called once if the client goes away before the response ended. */
  onAbort: (() => void) | undefined;
  /** Headers every response of this exchange carries (CORS), written right after the status. */
  private readonly common: readonly Header[];

  constructor(
    private readonly res: HttpResponse,
    common: readonly Header[] = [],
  ) {
    this.common = common;
    res.onAborted(() => {
      if (this.state !== OPEN) return;
      this.state = ABORTED;
      this.onAbort?.();
    });
  }

  /** Nothing may be written any more (ended, closed or aborted). */
  get finished(): boolean {
    return this.state !== OPEN;
  }

  get aborted(): boolean {
    return this.state === ABORTED;
  }

  /** Runs `fn` corked while the response is open. False when it was not run. */
  cork(fn: () => void): boolean {
    if (this.state !== OPEN) return false;
    this.guard(() => this.res.cork(fn));
    return true;
  }

  /** Status line plus the exchange's common headers. */
  status(status: string): this {
    if (this.state === OPEN) {
      this.guard(() => {
        this.res.writeStatus(status);
        for (const [k, v] of this.common) this.res.writeHeader(k, v);
      });
    }
    return this;
  }

  header(name: string, value: string): this {
    if (this.state === OPEN) this.guard(() => this.res.writeHeader(name, value));
    return this;
  }

  /** A chunk of a streamed body; false when uWS holds a backlog (or the response is finished). */
  write(chunk: string): boolean {
    if (this.state !== OPEN) return false;
    let ok = false;
    this.guard(() => {
      ok = this.res.write(chunk);
    });
    return ok;
  }

  /** Ends the response; `closeConnection` also closes the socket once it is written. */
  end(body?: string | Uint8Array, closeConnection = false): void {
    if (this.state !== OPEN) return;
    this.state = ENDED;
    this.guard(() => this.res.end(body, closeConnection));
  }

  /** Drops the connection (a stream whose client is too slow to take a final frame). */
  close(): void {
    if (this.state !== OPEN) return;
    this.state = ENDED;
    this.guard(() => this.res.close());
  }

  /**
   * A whole response at once, corked. `closeConnection` closes the socket after it (a request
   * whose body was not read must not leave the rest of it to be parsed as the next request).
   */
  send(status: string, headers: readonly Header[], body: string | Uint8Array, closeConnection = false): void {
    this.cork(() => {
      this.status(status);
      for (const [k, v] of headers) this.header(k, v);
      this.end(body, closeConnection);
    });
  }

  /** The response was handed to uWS for something else (a WebSocket upgrade). */
  handedOver(): void {
    if (this.state === OPEN) this.state = ENDED;
  }

  /**
   * The client's address as text; an IPv4 client on a dual-stack socket reads as plain IPv4
   * (not ::ffff:1.2.3.4), so per-IP limits count it once. Read before the first await: uWS
   * forbids touching the response after the handler returned unless it is still open.
   */
  remoteAddress(): string {
    if (this.state !== OPEN) return "";
    let text = "";
    this.guard(() => {
      text = Buffer.from(this.res.getRemoteAddressAsText()).toString();
    });
    return text.startsWith("::ffff:") && text.includes(".") ? text.slice(7) : text;
  }

  /** Raw access for uWS calls that take the response itself (upgrade, onData). */
  get raw(): HttpResponse {
    return this.res;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch {
      // uWS refused: the socket closed under us between our check and the call. The response is
      // over either way; what matters is that the exception does not reach uWS's callback. The
      // owner still learns of it (a stream releases what it holds), after the current write.
      if (this.state !== OPEN) return;
      this.state = ABORTED;
      queueMicrotask(() => this.onAbort?.());
    }
  }
}

export const JSON_TYPE = "application/json; charset=utf-8";

/** A JSON error response: `{"errors":[{message, extensions?}]}`. */
export function sendErrors(
  reply: Reply,
  status: string,
  errors: readonly { message: string; extensions?: Readonly<Record<string, unknown>> }[],
  headers: readonly Header[] = [],
  closeConnection = false,
): void {
  reply.send(status, [["content-type", JSON_TYPE], ...headers], JSON.stringify({ errors }), closeConnection);
}
