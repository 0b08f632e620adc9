/**
 * A fixed-capacity double-ended queue over a circular array: O(1) at both ends and no
 * allocation after construction, so the capture path never waits on the exporter.
 */
export class Ring<T> {
  readonly capacity: number;
  #items: (T | undefined)[];
  #head = 0;
  #length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`ring capacity must be >= 1, got ${capacity}`);
    this.capacity = capacity;
    this.#items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.#length;
  }

  /** Appends; when full, drops and returns the oldest item. */
  push(item: T): T | undefined {
    let dropped: T | undefined;
    if (this.#length === this.capacity) dropped = this.shift();
    this.#items[(this.#head + this.#length) % this.capacity] = item;
    this.#length++;
    return dropped;
  }

  /** Puts an item back in front (it is older than everything queued); false when full. */
  unshift(item: T): boolean {
    if (this.#length === this.capacity) return false;
    this.#head = (this.#head - 1 + this.capacity) % this.capacity;
    this.#items[this.#head] = item;
    this.#length++;
    return true;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#length--;
    return item;
  }

  /** Removes and returns up to `n` items from the front, oldest first. */
  take(n: number): T[] {
    const count = Math.min(n, this.#length);
    const out = new Array<T>(count);
    for (let i = 0; i < count; i++) out[i] = this.shift() as T;
    return out;
  }
}
