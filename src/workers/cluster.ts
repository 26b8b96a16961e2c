/**
 * A worker's view of the others (spec/scale.md): which worker owns a trigger, and the forwarding
 * of subscriptions to that owner. The owner alone subscribes to the broker and resolves each event
 * once per resolution group; a worker whose clients share a group it does not own holds one
 * forwarded subscription for all of them and fans the owner's serialized result out to its own
 * sockets. So broker subscriptions and resolution cost stay constant as workers are added; only
 * socket writes scale out.
 *
 * Ownership is decided when a forwarded group is created and kept while it lives (sticky): when
 * an owner dies its groups move to the new owner by the ring; when a worker (re)joins, existing
 * groups stay where they are and only new ones use the new ring.
 */
import type { MessagePort } from "node:worker_threads";
import type {
  LocalExecutor,
  OperationRequest,
  EventMeta,
  OperationSink,
  RequestContext,
  RunningOperation,
  TriggerOwnership,
} from "../engine/types.js";
import { clientError, ErrorCode, errorMessage, StreamgateError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { PlanError } from "../planner/plan.js";
import type { PeerMessage, ToPrimary } from "./messages.js";
import { ownerOf } from "./ring.js";
import { deliverAll } from "../fanout/deliver.js";
import { clusterGroupKey } from "../fanout/keys.js";
import type { PublishOptions } from "../providers/provider.js";

/** Embedded (memory://) providers: publishes must reach every worker's in-process broker. */
export interface RelayedProvider {
  deliver(topic: string, data: Uint8Array, options?: PublishOptions): void;
}

/** One resolution group's clients on this worker, fed by the group's owner. */
interface ForwardedGroup {
  readonly key: string;
  readonly triggerKey: string;
  readonly req: OperationRequest;
  /** The first subscriber's caller: the group's key holds everything of it that shapes results. */
  readonly ctx: RequestContext;
  /** Topics the requesting worker's create hooks decided, if any. */
  readonly topics: readonly string[] | undefined;
  readonly sinks: Set<OperationSink>;
  /** The newest cursor the group received: where a new owner resumes it after a move. */
  lastCursor: string | undefined;
  /** The current route: a request id at a remote owner, or a local run after a move. */
  owner: number;
  id: number;
  local: RunningOperation | undefined;
}

export class ClusterLink implements TriggerOwnership {
  private readonly live = new Set<number>();
  private readonly peers = new Map<number, MessagePort>();
  private readonly groups = new Map<string, ForwardedGroup>();
  private readonly byId = new Map<number, ForwardedGroup>();
  /** Operations run here for other workers, by `${worker}:${id}`. */
  private readonly served = new Map<string, RunningOperation>();
  private nextId = 1;
  private executor: LocalExecutor | undefined;
  private relayed: ReadonlyMap<string, RelayedProvider> = new Map();
  /** Requests that arrived before this worker's engine existed. */
  private early: [number, PeerMessage][] = [];
  private readonly metricsWaiters = new Map<number, (text: string) => void>();
  /** The engine's fan-out counters: deliveries count client sockets, not forwarded groups. */
  private stats: { deliveries: number } = { deliveries: 0 };

  constructor(
    readonly self: number,
    private readonly primary: { postMessage(m: ToPrimary): void },
    private readonly logger: Logger,
  ) {
    this.live.add(self);
  }

  get workers(): number {
    return this.live.size;
  }

  /** The engine is ready: serve what other workers asked for meanwhile. */
  attach(
    executor: LocalExecutor,
    relayed: ReadonlyMap<string, RelayedProvider>,
    stats: { deliveries: number },
  ): void {
    this.executor = executor;
    this.relayed = relayed;
    this.stats = stats;
    const early = this.early;
    this.early = [];
    for (const [from, m] of early) this.onPeer(from, m);
  }

  isLocal(triggerKey: string): boolean {
    return ownerOf(triggerKey, this.live) === this.self;
  }

  /**
   * Joins `sink` to the group (`triggerKey`, `groupKey`) owned by another worker, creating the
   * forwarded subscription on first use. The request must already be valid (the engine checked it).
   */
  subscribe(
    triggerKey: string,
    groupKey: string,
    req: OperationRequest,
    ctx: RequestContext,
    topics: readonly string[] | undefined,
    sink: OperationSink,
  ): RunningOperation {
    const key = clusterGroupKey(triggerKey, groupKey);
    let group = this.groups.get(key);
    if (!group) {
      group = {
        key,
        triggerKey,
        req,
        ctx,
        topics,
        sinks: new Set(),
        lastCursor: undefined,
        owner: -1,
        id: 0,
        local: undefined,
      };
      this.groups.set(key, group);
      this.route(group);
    }
    group.sinks.add(sink);
    const g = group;
    return {
      cancel: () => {
        if (!g.sinks.delete(sink) || g.sinks.size > 0) return;
        this.drop(g);
        if (g.local) g.local.cancel();
        else this.peers.get(g.owner)?.postMessage({ t: "unsub", id: g.id } satisfies PeerMessage);
      },
    };
  }

  /** Sends a memory:// publish to every other worker's embedded broker. */
  relay(providerId: string, topic: string, data: Uint8Array, options?: PublishOptions): void {
    for (const port of this.peers.values())
      port.postMessage({
        t: "mem-pub",
        providerId,
        topic,
        data,
        ...(options ? { options } : {}),
      } satisfies PeerMessage);
  }

  addPeer(index: number, port: MessagePort): void {
    this.peers.get(index)?.close();
    this.peers.set(index, port);
    this.live.add(index);
    port.on("message", (m: PeerMessage) => this.onPeer(index, m));
  }

  /** A worker died: what it served for us moves to the new owner; what we served for it stops. */
  removePeer(index: number): void {
    this.live.delete(index);
    this.peers.get(index)?.close();
    this.peers.delete(index);
    for (const [k, run] of this.served) {
      if (!k.startsWith(`${index}:`)) continue;
      this.served.delete(k);
      run.cancel();
    }
    for (const g of this.groups.values()) {
      if (g.owner !== index || g.local) continue;
      this.byId.delete(g.id);
      this.route(g);
    }
  }

  /** /metrics on any worker: the primary gathers every worker's metrics and merges them. */
  metrics(timeoutMs = 2000): Promise<string> {
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.metricsWaiters.delete(id);
        reject(new StreamgateError(ErrorCode.WORKER_FAILED, "metrics: the primary did not answer"));
      }, timeoutMs);
      this.metricsWaiters.set(id, (text) => {
        clearTimeout(timer);
        resolve(text);
      });
      this.primary.postMessage({ t: "metrics-req", id });
    });
  }

  onMetricsText(id: number, text: string): void {
    const w = this.metricsWaiters.get(id);
    this.metricsWaiters.delete(id);
    w?.(text);
  }

  /** Stops everything served for others (shutdown). */
  close(): void {
    for (const run of this.served.values()) run.cancel();
    this.served.clear();
    for (const port of this.peers.values()) port.close();
    this.peers.clear();
  }

  private route(g: ForwardedGroup): void {
    const owner = ownerOf(g.triggerKey, this.live);
    // After a move, the new owner resumes the group where the old one left it (at-least-once).
    const req = g.lastCursor
      ? { ...g.req, extensions: { ...g.req.extensions, cursor: g.lastCursor } }
      : g.req;
    g.owner = owner;
    if (owner === this.self && this.executor) {
      // The owner died and the ring now points here: run the group locally.
      g.local = this.executor.executeLocal(req, this.groupSink(g), g.ctx, g.topics);
      return;
    }
    g.id = this.nextId++;
    this.byId.set(g.id, g);
    const port = this.peers.get(owner);
    if (!port) {
      this.fail(g, [clientError(ErrorCode.WORKER_FAILED, `worker ${owner} is not reachable`)]);
      return;
    }
    port.postMessage({
      t: "sub",
      id: g.id,
      req,
      ip: g.ctx.ip,
      auth: g.ctx.auth,
      ...(g.ctx.headers ? { connectionParams: g.ctx.connectionParams, headers: g.ctx.headers } : {}),
      ...(g.topics ? { topics: g.topics } : {}),
    } satisfies PeerMessage);
  }

  private groupSink(g: ForwardedGroup): OperationSink {
    return {
      next: (json, meta) => this.fanOut(g, json, meta),
      error: (errors) => this.fail(g, errors),
      complete: () => this.finish(g),
    };
  }

  private fanOut(g: ForwardedGroup, json: string, meta: EventMeta | undefined): void {
    if (meta) g.lastCursor = meta.cursor;
    this.stats.deliveries += deliverAll(g.sinks, json, meta, (err) =>
      this.logger.error({ err: errorMessage(err) }, "fan-out error"),
    );
  }

  private fail(g: ForwardedGroup, errors: readonly PlanError[]): void {
    this.drop(g);
    for (const s of [...g.sinks]) s.error(errors);
  }

  private finish(g: ForwardedGroup): void {
    this.drop(g);
    for (const s of [...g.sinks]) s.complete();
  }

  private drop(g: ForwardedGroup): void {
    if (this.groups.get(g.key) === g) this.groups.delete(g.key);
    if (this.byId.get(g.id) === g) this.byId.delete(g.id);
  }

  private onPeer(from: number, m: PeerMessage): void {
    switch (m.t) {
      case "sub": {
        if (!this.executor) {
          this.early.push([from, m]);
          return;
        }
        const port = this.peers.get(from);
        if (!port) return;
        const id = m.id;
        const key = `${from}:${id}`;
        const ctx: RequestContext = {
          ip: m.ip,
          auth: m.auth,
          connectionParams: m.connectionParams ?? null,
          ...(m.headers ? { headers: m.headers } : {}),
        };
        const run = this.executor.executeLocal(
          m.req,
          {
            next: (json, meta) => {
              // The owner's group counted this hand-off as a delivery; the requester counts its clients.
              this.stats.deliveries--;
              port.postMessage({ t: "next", id, json, ...(meta ? { meta } : {}) } satisfies PeerMessage);
            },
            error: (errors) => {
              this.served.delete(key);
              port.postMessage({ t: "error", id, errors } satisfies PeerMessage);
            },
            complete: () => {
              this.served.delete(key);
              port.postMessage({ t: "complete", id } satisfies PeerMessage);
            },
          },
          ctx,
          m.topics,
        );
        this.served.set(key, run);
        return;
      }
      case "unsub": {
        if (!this.executor) {
          this.early = this.early.filter(([f, e]) => !(f === from && e.t === "sub" && e.id === m.id));
          return;
        }
        const key = `${from}:${m.id}`;
        this.served.get(key)?.cancel();
        this.served.delete(key);
        return;
      }
      case "next": {
        const g = this.byId.get(m.id);
        if (g && g.owner === from) this.fanOut(g, m.json, m.meta);
        return;
      }
      case "error": {
        const g = this.byId.get(m.id);
        if (g && g.owner === from) this.fail(g, m.errors);
        return;
      }
      case "complete": {
        const g = this.byId.get(m.id);
        if (g && g.owner === from) this.finish(g);
        return;
      }
      case "mem-pub":
        this.relayed.get(m.providerId)?.deliver(m.topic, m.data, m.options);
        return;
    }
  }
}
