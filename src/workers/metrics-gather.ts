/**
 * /metrics with worker threads: whichever worker took the scrape asks the primary, which asks
 * every ready worker for its registry as JSON, merges them (prom-client's aggregator: sums, and
 * the aggregator each gauge declares) and answers. A worker that does not answer in time (busy,
 * dying) is left out rather than holding the scrape.
 */
// prom-client is loaded at the first scrape: the primary serves nothing else that needs it, and
// an unscraped primary then never pays for it (profiles/workers.md).
const aggregator = (): Promise<typeof import("prom-client").AggregatorRegistry> =>
  import("./aggregator.js").then((m) => m.AggregatorRegistry);

const ANSWER_WITHIN_MS = 1500;

interface Gathering {
  readonly parts: unknown[];
  left: number;
  readonly timer: NodeJS.Timeout;
  readonly done: (text: string) => void;
}

export class MetricsGather {
  private seq = 0;
  private readonly open = new Map<number, Gathering>();

  /** Asks `workers` (by sending each the gather key) and calls `done` with the merged text once. */
  start(workers: number, ask: (key: number) => void, done: (text: string) => void): void {
    const key = ++this.seq;
    const g: Gathering = {
      parts: [],
      left: workers,
      timer: setTimeout(() => this.finish(key), ANSWER_WITHIN_MS),
      done,
    };
    this.open.set(key, g);
    if (workers === 0) {
      this.finish(key);
      return;
    }
    for (let i = 0; i < workers; i++) ask(key);
  }

  /** One worker's registry JSON for gathering `key`. */
  answer(key: number, json: unknown): void {
    const g = this.open.get(key);
    if (!g) return;
    g.parts.push(json);
    if (--g.left === 0) this.finish(key);
  }

  private finish(key: number): void {
    const g = this.open.get(key);
    if (!g) return;
    this.open.delete(key);
    clearTimeout(g.timer);
    aggregator()
      .then((registry) => registry.aggregate(g.parts as never[]).metrics())
      .then(g.done, () => g.done(""));
  }
}
