/** The async-iterator face of `subscribe`: results are buffered until read; `return()` unsubscribes. */
import type { StreamgateClientError } from "./errors.js";
import type { ExecutionResult, Request, Sink } from "./types.js";

type Subscribe = <TData, TVariables>(
  request: Request<TData, TVariables>,
  sink: Sink<ExecutionResult<TData>>,
) => () => void;

export function iterate<TData, TVariables>(
  subscribe: Subscribe,
  request: Request<TData, TVariables>,
): AsyncIterableIterator<ExecutionResult<TData>> {
  const pending: ExecutionResult<TData>[] = [];
  let failure: StreamgateClientError | undefined;
  let done = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const stop = subscribe(request, {
    next(value) {
      pending.push(value);
      notify();
    },
    error(err) {
      failure = err;
      done = true;
      notify();
    },
    complete() {
      done = true;
      notify();
    },
  });
  const finished = (): IteratorResult<ExecutionResult<TData>> => ({ done: true, value: undefined });
  const iterator: AsyncIterableIterator<ExecutionResult<TData>> = {
    async next() {
      for (;;) {
        const value = pending.shift();
        if (value !== undefined) return { done: false, value };
        if (failure) {
          const err = failure;
          failure = undefined;
          throw err;
        }
        if (done) return finished();
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    async return() {
      done = true;
      pending.length = 0;
      stop();
      notify();
      return finished();
    },
    async throw(err?: unknown) {
      done = true;
      pending.length = 0;
      stop();
      notify();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
