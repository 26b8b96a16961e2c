/** The client's event listeners. A listener that throws is isolated: the others still run. */
import type { ClientEvents, Listener } from "./types.js";

/**
 * A user's listener or sink threw: report it (the browser's `reportError`, else the console) and
 * go on. It must not break the connection handling nor the other operations on it.
 */
export function reportUserError(err: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (report) report(err);
  else console.error(err);
}

export class Emitter {
  private readonly listeners: { [E in keyof ClientEvents]?: Listener<E>[] } = {};

  on<E extends keyof ClientEvents>(event: E, listener: Listener<E>): () => void {
    let list = this.listeners[event] as Listener<E>[] | undefined;
    if (!list) {
      list = [];
      (this.listeners as Record<string, unknown>)[event] = list;
    }
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  emit<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]): void {
    const list = this.listeners[event] as Listener<E>[] | undefined;
    if (!list) return;
    for (const listener of [...list]) {
      try {
        listener(payload);
      } catch (err) {
        reportUserError(err);
      }
    }
  }
}
