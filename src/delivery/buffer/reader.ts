/**
 * The reader side of the session buffer: one loop per buffered provider and process, one blocking
 * XREAD over every log it reads for local clients, on a connection of its own. The block is short
 * so that a log joining the set (a new subscription) is read within it; data returns at once.
 */
import { errorMessage } from "../../errors.js";
import { parseEntries } from "./codec.js";
import type { BufferLog } from "./log.js";
import type { BufferCounters } from "./stats.js";
import type { BufferStore } from "./store.js";

/** Entries per log per read. */
const READ_COUNT = 512;

/** What the read loop needs from the buffer around it. */
export interface ReaderContext {
  readonly store: BufferStore;
  readonly counters: BufferCounters;
  /** Longest block of one read (ms). */
  readonly blockMs: number;
  /** How long to wait (ms) when there is nothing to read, unless woken. */
  readonly idleMs: number;
  logs(): Iterable<BufferLog>;
  /** The buffer answers (reading is pointless otherwise). */
  available(): boolean;
  stopped(): boolean;
  down(why: string): void;
}

export class LogReader {
  private waking: (() => void) | undefined;

  constructor(private readonly ctx: ReaderContext) {}

  /** Ends a wait for something to read (a log joined, the buffer is back, stop). */
  wake(): void {
    this.waking?.();
  }

  /** Reads until the buffer stops. Never rejects. */
  async run(): Promise<void> {
    const { ctx } = this;
    while (!ctx.stopped()) {
      const reading = [...ctx.logs()].filter(
        (l) => !l.direct && l.readFrom !== undefined && l.handlers.size > 0,
      );
      if (!ctx.available() || reading.length === 0) {
        await this.idle();
        continue;
      }
      const from = reading.map((l) => l.readFrom!);
      let reply: Map<string, unknown[]>;
      try {
        reply = await ctx.store.read(
          reading.map((l, i) => [l.keys.log, from[i]!] as const),
          READ_COUNT,
          ctx.blockMs,
        );
      } catch (err) {
        if (!ctx.stopped()) ctx.down(errorMessage(err));
        continue;
      }
      reading.forEach((log, i) => {
        const raw = reply.get(log.keys.log);
        // The log was reset meanwhile (an outage, its last client left): this read is stale.
        if (!raw || raw.length === 0 || log.direct || log.readFrom !== from[i]) return;
        const entries = parseEntries(log.keys.id, raw);
        // Entries without an id cannot come from Redis; "$" then reads only what comes next.
        log.readFrom = entries.at(-1)?.id ?? "$";
        ctx.counters.invalidEntries += log.deliverEntries(entries);
      });
    }
  }

  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.ctx.idleMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.waking = undefined;
        resolve();
      }
      this.waking = done;
    });
  }
}
