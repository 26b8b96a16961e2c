/**
 * The cursors of one at-least-once trigger (or of one replay): the newest position per partition,
 * and the signed cursor after each event, computed once per event whatever the number of groups
 * and subscribers.
 */
import type { EventMeta } from "../engine/types.js";
import type { TriggerCursors } from "../fanout/triggers.js";
import type { BrokerEvent, EventPosition } from "../providers/provider.js";
import type { CursorCodec, Positions } from "./cursor.js";

export class PositionCursors implements TriggerCursors {
  private readonly positions: Record<string, number>;
  private settledCursor: string | undefined;

  constructor(
    private readonly codec: CursorCodec,
    private readonly providerId: string,
    private readonly fingerprint: string,
    private readonly positionOf: (event: BrokerEvent) => EventPosition | undefined,
    initial: Positions = {},
    /** Where the partitions stand now (before the trigger subscribes); see TriggerCursors.prepare. */
    private readonly heads?: () => Promise<Positions>,
  ) {
    this.positions = { ...initial };
  }

  async prepare(): Promise<void> {
    if (this.heads) this.seed(await this.heads());
  }

  advance(event: BrokerEvent): EventMeta | undefined {
    const position = this.positionOf(event);
    if (!position) return undefined;
    const before = this.positions[position.key];
    if (before === undefined || position.offset > before) this.positions[position.key] = position.offset;
    return event.gap ? { cursor: this.current(), position, gap: true } : { cursor: this.current(), position };
  }

  /** Learns where partitions start (a new trigger's heads) without moving any it has seen. */
  seed(heads: Positions): void {
    for (const [k, v] of Object.entries(heads)) if (this.positions[k] === undefined) this.positions[k] = v;
  }

  /** The positions as they stand (a copy). */
  snapshot(): Positions {
    return { ...this.positions };
  }

  /** The cursor for the positions as they stand. */
  current(): string {
    return this.codec.encode({ p: this.providerId, t: this.fingerprint, o: this.positions });
  }

  settle(cursor: string): void {
    this.settledCursor = cursor;
  }

  get latest(): string | undefined {
    return this.settledCursor;
  }
}
