/** The client's event listeners. A listener that throws is isolated: the others still run. */
import type { ClientEvents, Listener } from "./types.js";

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
        // A user's listener must not break the connection handling: report it and go on.
        const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
        if (report) report(err);
        else console.error(err);
      }
    }
  }
}
