/**
 * One JSON POST to a subgraph over node:http (node:https, imported only for an https:// subgraph),
 * with keep-alive connections per origin. Not undici: loading undici's Pool costs ~14 MB of
 * resident memory (its llhttp WebAssembly and module code) against ~2 MB for node:http's Agent,
 * in every router with an ordinary subgraph (profiles/bundle.md); subgraph requests are one per
 * event and resolution group, not a throughput path where undici's speed would pay for that.
 */
import type { Agent as HttpAgent, ClientRequest, IncomingMessage, RequestOptions } from "node:http";

/** The response as text, with its status. */
export interface PostAnswer {
  readonly status: number;
  readonly text: string;
}

/** Why a POST failed: `timeout`, `too-large` or `network` (refused, reset, DNS...). */
export class PostFailure extends Error {
  constructor(
    readonly kind: "timeout" | "too-large" | "network",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "PostFailure";
  }
}

/** Per-origin keep-alive agents; one per SubgraphClient. */
export class HttpPoster {
  private readonly agents = new Map<
    string,
    Promise<{ agent: HttpAgent; request: typeof import("node:http").request }>
  >();

  constructor(
    private readonly opts: {
      /** Connections kept per origin (undici's Pool had 32). */
      readonly maxSockets: number;
      /** Idle keep-alive sockets are closed after this, ms. */
      readonly idleMs: number;
      /** A response body above this many bytes fails the request. */
      readonly maxBodyBytes: number;
    },
  ) {}

  /** POSTs `body` to `url`; resolves with any HTTP status, rejects with PostFailure. */
  async post(
    url: URL,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
  ): Promise<PostAnswer> {
    const { agent, request } = await this.agentFor(url);
    try {
      return await this.once(request, agent, url, headers, body, timeoutMs);
    } catch (err) {
      // A keep-alive socket the server closed while it sat idle fails at once with a reset; the
      // server never saw this request, so sending it again on a fresh socket is safe.
      if (err instanceof StaleSocket) return this.once(request, agent, url, headers, body, timeoutMs);
      throw err;
    }
  }

  close(): void {
    for (const a of this.agents.values()) void a.then((x) => x.agent.destroy()).catch(() => {});
    this.agents.clear();
  }

  private agentFor(url: URL) {
    let a = this.agents.get(url.origin);
    if (!a) {
      a = (url.protocol === "https:" ? import("node:https") : import("node:http")).then((m) => ({
        agent: new m.Agent({
          keepAlive: true,
          maxSockets: this.opts.maxSockets,
          // Agent's `timeout` ends idle sockets; a request's own deadline is set below.
          timeout: this.opts.idleMs,
          scheduling: "lifo",
        }),
        request: m.request,
      }));
      this.agents.set(url.origin, a);
    }
    return a;
  }

  private once(
    request: typeof import("node:http").request,
    agent: HttpAgent,
    url: URL,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
  ): Promise<PostAnswer> {
    const payload = Buffer.from(body);
    const options: RequestOptions = {
      method: "POST",
      agent,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      headers: { ...headers, "content-length": String(payload.length) },
    };
    return new Promise<PostAnswer>((resolve, reject) => {
      let settled = false;
      let answered = false;
      const finish = (err: Error | undefined, answer?: PostAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(answer!);
      };
      const req: ClientRequest = request(options, (res: IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.opts.maxBodyBytes) {
            finish(new PostFailure("too-large", `answered with more than ${this.opts.maxBodyBytes} bytes`));
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () =>
          finish(undefined, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", (err) =>
          finish(new PostFailure("network", "the response broke off", { cause: err })),
        );
        res.on("aborted", () => finish(new PostFailure("network", "the response broke off")));
      });
      const deadline = setTimeout(
        () => finish(new PostFailure("timeout", `timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (!answered && req.reusedSocket && (err.code === "ECONNRESET" || err.code === "EPIPE"))
          finish(new StaleSocket());
        else finish(new PostFailure("network", "could not be reached", { cause: err }));
      });
      req.end(payload);
    });
  }
}

/** A reused keep-alive socket was already closed by the server (retried once). */
class StaleSocket extends Error {}
