/**
 * One composition for every worker (issue 16). Each worker would otherwise spawn its own
 * composition child at start and at each reload: N node processes at once, ~60 MB each for a few
 * hundred ms (workers: 4 peaked at 241 MB empty). The primary composes each distinct input once,
 * in its child (src/schema/compose.ts needs no graphql in this thread), and hands the result to
 * every worker that asks; concurrent identical requests share one run.
 */
import type { ComposeResult, ServiceSdl } from "../schema/compose.js";

/** Results kept for restarts and the next reload: the current input and the one before. */
const KEEP = 2;

export class ComposeShare {
  private readonly runs = new Map<string, Promise<ComposeResult>>();
  private composed = 0;

  constructor(private readonly composeOnce: (services: readonly ServiceSdl[]) => Promise<ComposeResult>) {}

  /** How many compositions actually ran (for logs and tests). */
  get runsStarted(): number {
    return this.composed;
  }

  compose(services: readonly ServiceSdl[]): Promise<ComposeResult> {
    const key = JSON.stringify(services);
    const known = this.runs.get(key);
    if (known) {
      // Most recently used last, so the oldest is the one evicted.
      this.runs.delete(key);
      this.runs.set(key, known);
      return known;
    }
    this.composed++;
    const run = this.composeOnce(services);
    this.runs.set(key, run);
    // A failed run (a child that crashed) is not kept: the next request tries again.
    run.catch(() => this.runs.delete(key));
    while (this.runs.size > KEEP) this.runs.delete(this.runs.keys().next().value!);
    return run;
  }
}
