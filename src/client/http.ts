/**
 * Queries and mutations over GraphQL-over-HTTP (POST JSON), for the SSE transport. While the
 * router cannot be reached they wait (bounded by the queue limit and timeout); a mutation whose
 * request may have left is never sent twice.
 */
import { backoffDelay } from "./backoff.js";
import { ClientErrorCode, type GraphQLErrorLike, operationError, StreamgateClientError } from "./errors.js";
import type { Operation } from "./operation.js";
import { httpUrlOf } from "./reachability.js";
import type { TransportHost } from "./transport.js";
import type { ExecutionResult } from "./types.js";

/** Connection errors that prove the request never reached a server (Node's fetch names them). */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

function neverSent(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === "string" && NOT_SENT.has(cause.code);
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Runs `op` to its single result; `queued` is how many HTTP operations are in flight with it. */
export async function runHttpOperation(
  op: Operation,
  host: TransportHost,
  signal: AbortSignal,
  queued: number,
): Promise<void> {
  const { settings } = host;
  if (queued > settings.queueLimit) {
    op.fail(
      new StreamgateClientError(
        ClientErrorCode.QUEUE_TIMEOUT,
        `${settings.queueLimit} operations already wait`,
      ),
    );
    return;
  }
  const deadline = Date.now() + settings.queueTimeout;
  let authRetried = false;
  for (let attempt = 0; !signal.aborted && !op.done; ) {
    let res: Response;
    try {
      const auth = await host.authorization();
      const headers: Record<string, string> = {
        ...settings.headers,
        accept: "application/graphql-response+json, application/json",
        "content-type": "application/json",
      };
      if (auth) headers.authorization = auth;
      res = await settings.fetchImpl(httpUrlOf(settings.url), {
        method: "POST",
        headers,
        body: JSON.stringify(op.begin(false)),
        signal,
      });
    } catch (err) {
      if (signal.aborted) return;
      if (op.kind === "mutation" && !neverSent(err)) {
        op.fail(
          new StreamgateClientError(ClientErrorCode.OUTCOME_UNKNOWN, "the mutation's request failed", {
            cause: err,
          }),
        );
        return;
      }
      const delay = backoffDelay(attempt++, settings.backoff);
      if (Date.now() + delay > deadline) {
        op.fail(
          new StreamgateClientError(
            ClientErrorCode.QUEUE_TIMEOUT,
            `no connection within ${settings.queueTimeout} ms`,
            {
              cause: err,
            },
          ),
        );
        return;
      }
      await sleep(delay, signal);
      continue;
    }
    if (res.status === 401 && !authRetried) {
      authRetried = true;
      await res.body?.cancel();
      continue;
    }
    let body: ExecutionResult<unknown> & { errors?: GraphQLErrorLike[] };
    try {
      body = (await res.json()) as typeof body;
    } catch (err) {
      op.fail(
        new StreamgateClientError(ClientErrorCode.BAD_RESPONSE, `HTTP ${res.status}: not JSON`, {
          cause: err,
        }),
      );
      return;
    }
    if (res.status === 401) {
      op.fail(
        new StreamgateClientError(ClientErrorCode.AUTHENTICATION_FAILED, "unauthorized", { status: 401 }),
      );
    } else if (!res.ok || (body.data == null && body.errors?.length)) {
      op.fail(operationError(body.errors ?? [{ message: `HTTP ${res.status}` }], res.status));
    } else {
      op.deliver(body);
      op.complete();
    }
    return;
  }
}
