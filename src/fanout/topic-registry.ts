/**
 * One broker subscription per (provider id, topic), reference counted across every trigger:
 * subscribe on the first listener, unsubscribe on the last. A listener leaving never takes the
 * broker subscription from the others (the Hive Redis pubsub bug we avoid).
 */
import { ErrorCode, StreamgateError } from "../errors.js";
import type {
  BrokerEvent,
  EventsHandler,
  Provider,
  StreamOptions,
  Unsubscribe,
} from "../providers/provider.js";

interface Entry {
  readonly listeners: Set<EventsHandler>;
  readonly ready: Promise<Unsubscribe>;
}

import { sourceKey } from "./keys.js";

export type ProviderLookup = (providerId: string) => Provider | undefined;

export class TopicRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly providers: ProviderLookup) {}

  /** Number of live broker subscriptions. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Adds `listener` to (providerId, topics[, stream]); resolves once the broker subscription
   * exists. Usually `topics` is one topic; a trigger whose patterns may overlap passes them all
   * so the provider delivers each message once. A JetStream subscription is a different source
   * from a core one on the same subject.
   */
  async acquire(
    providerId: string,
    topics: readonly string[],
    listener: EventsHandler,
    stream?: StreamOptions,
  ): Promise<() => void> {
    const key = sourceKey(providerId, topics, stream);
    let entry = this.entries.get(key);
    if (!entry) {
      const provider = this.providers(providerId);
      if (!provider) throw new StreamgateError(ErrorCode.PROVIDER_UNKNOWN, `no provider "${providerId}"`);
      const listeners = new Set<EventsHandler>();
      // Listeners that say when they wrote (at-least-once triggers) make the provider wait for all.
      const deliver = (events: readonly BrokerEvent[]): Promise<void> | undefined => {
        const pending: Promise<void>[] = [];
        for (const l of listeners) {
          const p = l(events);
          if (p) pending.push(p);
        }
        if (pending.length === 0) return undefined;
        return pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined);
      };
      const created: Entry = {
        listeners,
        ready: provider.subscribe(topics, deliver, stream ? { stream } : {}),
      };
      entry = created;
      this.entries.set(key, created);
      created.ready.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
    }
    const current = entry;
    current.listeners.add(listener);
    try {
      await current.ready;
    } catch (err) {
      current.listeners.delete(listener);
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      current.listeners.delete(listener);
      if (current.listeners.size === 0 && this.entries.get(key) === current) {
        this.entries.delete(key);
        current.ready.then((unsubscribe) => unsubscribe()).catch(() => {});
      }
    };
  }
}
