/**
 * A session's running operations by id. Nearly every connection runs one subscription, and an
 * empty Map already costs ~180 B (the object and its hash table), once per connection; so one
 * operation lives in two fields and a Map is made only for a second (profiles/per-client.md).
 * Ids are listed in the order they were added.
 */
export class Operations<T> {
  private id: string | undefined;
  private op: T | undefined;
  /** Every operation once there were two at a time (kept from then on). */
  private more: Map<string, T> | undefined;

  get size(): number {
    if (this.more) return this.more.size;
    return this.id === undefined ? 0 : 1;
  }

  has(id: string): boolean {
    return this.more ? this.more.has(id) : this.id === id;
  }

  get(id: string): T | undefined {
    if (this.more) return this.more.get(id);
    return this.id === id ? this.op : undefined;
  }

  set(id: string, op: T): void {
    if (this.more) {
      this.more.set(id, op);
    } else if (this.id === undefined || this.id === id) {
      this.id = id;
      this.op = op;
    } else {
      this.more = new Map([
        [this.id, this.op as T],
        [id, op],
      ]);
      this.id = undefined;
      this.op = undefined;
    }
  }

  delete(id: string): boolean {
    if (this.more) return this.more.delete(id);
    if (this.id !== id) return false;
    this.id = undefined;
    this.op = undefined;
    return true;
  }

  /** The ids now (a copy: safe to change the operations while going through it). */
  ids(): string[] {
    if (this.more) return [...this.more.keys()];
    return this.id === undefined ? [] : [this.id];
  }

  /** The operations now (a copy, like {@link ids}). */
  values(): T[] {
    if (this.more) return [...this.more.values()];
    return this.id === undefined ? [] : [this.op as T];
  }

  clear(): void {
    this.id = undefined;
    this.op = undefined;
    this.more = undefined;
  }
}
