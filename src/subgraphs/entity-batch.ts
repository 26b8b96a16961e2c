/**
 * Merges `_entities` requests of one event: every resolution group that asks the same subgraph
 * for the same representations (with the same variables) in the same tick shares one request
 * whose selection is the union of theirs. A request that arrives after the flush reuses the
 * in-flight one when its selection is already covered, else starts another.
 */
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
  readonly selections: Set<string>;
  flushed: boolean;
  promise: Promise<EntitiesResult>;
  resolve: (r: EntitiesResult) => void;
  reject: (e: unknown) => void;
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

  constructor(private readonly client: SubgraphClient) {}

  fetch(req: EntityRequest): Promise<EntitiesResult> {
    const key = `${req.subgraph}\u0000${req.typeName}\u0000${req.variableDefs}\u0000${JSON.stringify(req.variables)}\u0000${JSON.stringify(req.representations)}`;
    const list = this.pending.get(key) ?? [];
    this.pending.set(key, list);
    for (const p of list) {
      if (!p.flushed) {
        p.selections.add(req.selection);
        return p.promise;
      }
      if (p.selections.has(req.selection)) return p.promise;
    }
    let resolve!: (r: EntitiesResult) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<EntitiesResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Pending = {
      ...req,
      selections: new Set([req.selection]),
      flushed: false,
      promise,
      resolve,
      reject,
    };
    list.push(entry);
    queueMicrotask(() => this.flush(entry));
    return promise;
  }

  private flush(p: Pending): void {
    p.flushed = true;
    const defs = p.variableDefs ? `, ${p.variableDefs}` : "";
    const query = `query($representations: [_Any!]!${defs}) { _entities(representations: $representations) { ... on ${p.typeName} { __typename ${[...p.selections].join(" ")} } } }`;
    this.client
      .post(p.subgraph, query, { ...p.variables, representations: p.representations })
      .then((res) => {
        const raw = res.data?._entities;
        const entities = Array.isArray(raw) ? (raw as (Record<string, unknown> | null)[]) : [];
        p.resolve({ entities, errors: res.errors ?? [] });
      }, p.reject);
  }
}
