/**
 * Merges `_entities` requests of one event: every resolution group that asks the same subgraph
 * for the same representations (with the same variables) in the same tick shares one HTTP
 * request. Each distinct selection gets its own aliased `_entities` field in that request
 * (`e0: _entities(…) { … } e1: _entities(…) { … }`): a plain union of selections is invalid
 * GraphQL as soon as two operations select one field with different arguments
 * (`avatar(size: 64)` and `avatar(size: 128)`), which would fail both groups. A request that
 * arrives after the flush reuses the in-flight one when its selection is in it, else starts another.
 */
import type { TraceContext, Tracing } from "../telemetry/tracing.js";
import type { GraphqlError, SubgraphClient } from "./client.js";

export interface EntitiesResult {
  /** One entry per representation, in order (null when the subgraph returned none). */
  readonly entities: readonly (Record<string, unknown> | null)[];
  readonly errors: readonly GraphqlError[];
}

interface Pending {
  readonly subgraph: string;
  readonly typeName: string;
  readonly representations: readonly Record<string, unknown>[];
  readonly variableDefs: string;
  readonly variables: Record<string, unknown>;
  /** Distinct selections, each answered under its own alias (`e<index>`). */
  readonly selections: Map<string, Waiter>;
  flushed: boolean;
}

interface Waiter {
  readonly alias: string;
  readonly promise: Promise<EntitiesResult>;
  resolve: (r: EntitiesResult) => void;
  reject: (e: unknown) => void;
}

function waiter(alias: string): Waiter {
  let resolve!: (r: EntitiesResult) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<EntitiesResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { alias, promise, resolve, reject };
}

export interface EntityRequest {
  readonly subgraph: string;
  readonly typeName: string;
  readonly representations: readonly Record<string, unknown>[];
  /** Selection inside `... on Type { }`. */
  readonly selection: string;
  /** Printed variable definitions the selection uses (without parentheses), "" when none. */
  readonly variableDefs: string;
  readonly variables: Record<string, unknown>;
}

export class EntityBatch {
  private readonly pending = new Map<string, Pending[]>();

  constructor(
    private readonly client: SubgraphClient,
    /** With tracing on: the event's context, parent of the fetch spans. */
    private readonly trace?: { readonly tracing: Tracing; readonly parent: TraceContext | undefined },
  ) {}

  fetch(req: EntityRequest): Promise<EntitiesResult> {
    const key = `${req.subgraph}\u0000${req.typeName}\u0000${req.variableDefs}\u0000${JSON.stringify(req.variables)}\u0000${JSON.stringify(req.representations)}`;
    const list = this.pending.get(key) ?? [];
    this.pending.set(key, list);
    for (const p of list) {
      const known = p.selections.get(req.selection);
      if (known) return known.promise;
      if (!p.flushed) {
        const w = waiter(`e${p.selections.size}`);
        p.selections.set(req.selection, w);
        return w.promise;
      }
    }
    const first = waiter("e0");
    const entry: Pending = {
      ...req,
      selections: new Map([[req.selection, first]]),
      flushed: false,
    };
    list.push(entry);
    queueMicrotask(() => this.flush(entry));
    return first.promise;
  }

  private flush(p: Pending): void {
    p.flushed = true;
    const defs = p.variableDefs ? `, ${p.variableDefs}` : "";
    const fields = [...p.selections]
      .map(
        ([selection, w]) =>
          `${w.alias}: _entities(representations: $representations) { ... on ${p.typeName} { __typename ${selection} } }`,
      )
      .join(" ");
    const query = `query($representations: [_Any!]!${defs}) { ${fields} }`;
    const waiters = [...p.selections.values()];
    this.client
      .post(p.subgraph, query, { ...p.variables, representations: p.representations }, this.trace)
      .then(
        (res) => {
          for (const w of waiters) {
            const raw = res.data?.[w.alias];
            const entities = Array.isArray(raw) ? (raw as (Record<string, unknown> | null)[]) : [];
            // An error with a path belongs to the alias it starts with; one without, to everyone.
            const errors = (res.errors ?? []).filter((e) => !e.path || e.path[0] === w.alias);
            w.resolve({ entities, errors });
          }
        },
        (err) => {
          for (const w of waiters) w.reject(err);
        },
      );
  }
}
