/** Timer helpers shared by the providers: none of them leaves a timer behind. */
import { ErrorCode, StreamgateError } from "../../errors.js";

/** A sleep that wake() ends early: a stop, or the connection coming back, should not wait it out. */
export class Sleeper {
  private wakeUp: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  /** Ends the current sleep, if any. */
  wake(): void {
    this.wakeUp?.();
  }
}

/** `p`, or a PROVIDER_TIMEOUT rejection naming `what` after `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StreamgateError(ErrorCode.PROVIDER_TIMEOUT, `${what} timed out after ${ms}ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for `p` at most `ms`, then resolves anyway: a broker answer that comes later still takes
 * effect, nothing is lost. A rejection of `p` within the time is passed on.
 */
export async function waitAtMost(ms: number, p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
