/**
 * One side of the local order book: levels kept in price order, best first,
 * in fixed-size blocks (the leaf level of a B+-tree without the inner nodes).
 *
 * Why blocks: a flat sorted array moves the whole tail on every insert or
 * removal. Real Binance spot diffs carry ~46 levels, ~80 % of them inserts or
 * removals, against a book of 2,000-3,000 levels a side, so the flat array
 * spent 10-20 µs a diff in memmove. Here an update moves at most one block's
 * entries, whatever the depth: a binary search over the blocks' first keys,
 * another inside one block, a shift of ≤ BLOCK entries. A full block splits
 * in two; a block that runs low merges with a neighbour, so blocks stay at
 * least about a quarter full and the block list short. Top-N reads walk the
 * blocks in order, summing in the same order as a flat array would, so every
 * figure is bit-for-bit what the flat book gave.
 *
 * Keys are `sign * price` (bids negated) so both sides ascend from the best:
 * one comparison direction, no per-step branch on the side. Prices are integer
 * mantissas, so the negation is exact.
 *
 * All storage is typed arrays from a pool that only grows (doubling): no
 * allocation per update once the book has reached its size.
 */

/**
 * Entries a block holds. On the real spot window (bench:book) 8, 16 and 32 are within noise of
 * each other and 64 is ~15-20 % slower: the shift inside a block and the scan to the slot grow with
 * it, the search over blocks shrinks only logarithmically.
 */
const BLOCK = 16;
/** A block below this after a removal tries to merge with a neighbour. */
const LOW = BLOCK >> 2;
/** ... when the two together fit in this, leaving room for inserts before the next split. */
const MERGED_MAX = (BLOCK * 3) >> 2;
/** Blocks filled by a bulk load (restore): room to insert before splitting. */
const LOAD_FILL = (BLOCK * 3) >> 2;

export class BookSide {
  /** Number of levels. */
  size = 0;
  /** +1 for asks (ascending prices), -1 for bids. */
  private readonly sign: number;
  /** Pool of blocks: block id b owns keys/qtys [b * BLOCK, b * BLOCK + count[b]). */
  private keys: Float64Array;
  private qs: Float64Array;
  private count: Int32Array;
  /** Block ids in key order, [0, blocks). */
  private order: Int32Array;
  /** First key of each block in `order` (parallel to it): the block search touches one dense array. */
  private firsts: Float64Array;
  private blocks = 0;
  /** Position in `order` of the block the last update touched: where the next search starts. */
  private hint = 0;
  /** Pool index of the last update's slot: where the scan inside the block starts. */
  private hintAt = 0;
  /** Unused block ids (a stack). */
  private free: Int32Array;
  private freeCount: number;
  /** Bumped by every change; the flat views are rebuilt only when it moved. */
  private version = 0;
  private flatVersion = -1;
  private flatPrices = new Float64Array(0);
  private flatQtys = new Float64Array(0);

  constructor(descending: boolean, initialBlocks = 64) {
    this.sign = descending ? -1 : 1;
    this.keys = new Float64Array(initialBlocks * BLOCK);
    this.qs = new Float64Array(initialBlocks * BLOCK);
    this.count = new Int32Array(initialBlocks);
    this.order = new Int32Array(initialBlocks);
    this.firsts = new Float64Array(initialBlocks);
    this.free = new Int32Array(initialBlocks);
    for (let i = 0; i < initialBlocks; i++) this.free[i] = initialBlocks - 1 - i;
    this.freeCount = initialBlocks;
  }

  /** Best price, NaN when empty. */
  get bestPrice(): number {
    return this.blocks > 0 ? this.sign * this.keys[this.order[0]! * BLOCK]! : Number.NaN;
  }

  /** Quantity at the best price, 0 when empty. */
  get bestQty(): number {
    return this.blocks > 0 ? this.qs[this.order[0]! * BLOCK]! : 0;
  }

  /**
   * Prices best first, [0, size): a flat copy rebuilt when the side changed
   * since the last call (restore state, tests). Not for the hot path.
   */
  get prices(): Float64Array {
    this.flatten();
    return this.flatPrices;
  }

  /** Quantities parallel to `prices`. */
  get qtys(): Float64Array {
    this.flatten();
    return this.flatQtys;
  }

  /** Sets a level's quantity; 0 removes it (a removal of an absent level is a no-op). */
  set(price: number, qty: number): void {
    const key = this.sign * price;
    if (this.blocks === 0) {
      if (qty === 0) return;
      const b = this.takeBlock();
      this.keys[b * BLOCK] = key;
      this.qs[b * BLOCK] = qty;
      this.count[b] = 1;
      this.order[0] = b;
      this.firsts[0] = key;
      this.blocks = 1;
      this.size = 1;
      this.version++;
      return;
    }
    // j: the last block whose first key is <= key (block 0 when key is below them all). Galloping
    // forward from the block of the previous update: Binance lists a diff's levels best first, so
    // the next level is usually in the same block or a few after it; otherwise from the best
    // block, near which most updates land. A stale hint only costs steps, never a wrong block.
    const firsts = this.firsts;
    const blocks = this.blocks;
    let j = this.hint;
    if (j >= blocks || firsts[j]! > key) j = 0;
    let step = 1;
    let bound = blocks;
    while (j + step < blocks) {
      if (firsts[j + step]! <= key) {
        j += step;
        step <<= 1;
      } else {
        bound = j + step;
        break;
      }
    }
    // then halving [j, bound) with a select, not a branch: the outcome of each step is a coin toss
    let len = bound - j;
    while (len > 1) {
      const half = len >>> 1;
      j = firsts[j + half]! <= key ? j + half : j;
      len -= half;
    }
    this.hint = j;
    const b = this.order[j]!;
    const base = b * BLOCK;
    const keys = this.keys;
    // a short scan: one mispredicted branch at its end, where a binary search mispredicts every other step
    // (from the previous update's slot when it is in this block and not past the key: diffs come best first)
    const end = base + this.count[b]!;
    let i = this.hintAt;
    if (i < base || i >= end || keys[i]! > key) i = base;
    while (i < end && keys[i]! < key) i++;
    this.hintAt = i;
    if (i < end && keys[i] === key) {
      if (qty === 0) this.removeAt(j, b, i);
      else this.qs[i] = qty;
      this.version++;
      return;
    }
    if (qty === 0) return;
    this.insertAt(j, b, i - base, key, qty);
    this.version++;
  }

  /** Replaces every level with `prices` (strictly best first, as `prices` returns them) and `qtys`. */
  load(prices: ArrayLike<number>, qtys: ArrayLike<number>): void {
    this.clear();
    const n = prices.length;
    const need = Math.ceil(n / LOAD_FILL);
    while (this.freeCount < need) this.grow();
    for (let i = 0; i < n; i += LOAD_FILL) {
      const b = this.takeBlock();
      const m = Math.min(LOAD_FILL, n - i);
      const base = b * BLOCK;
      for (let k = 0; k < m; k++) {
        this.keys[base + k] = this.sign * prices[i + k]!;
        this.qs[base + k] = qtys[i + k]!;
      }
      this.count[b] = m;
      this.order[this.blocks] = b;
      this.firsts[this.blocks] = this.keys[base]!;
      this.blocks++;
    }
    this.size = n;
    this.version++;
  }

  clear(): void {
    for (let j = 0; j < this.blocks; j++) this.free[this.freeCount++] = this.order[j]!;
    this.blocks = 0;
    this.size = 0;
    this.version++;
  }

  /** Sum of quantities over the best `n` levels. */
  depth(n: number): number {
    const { qs, count, order } = this;
    let s = 0;
    let left = n;
    for (let j = 0; j < this.blocks && left > 0; j++) {
      const b = order[j]!;
      const base = b * BLOCK;
      const m = Math.min(count[b]!, left);
      for (let i = 0; i < m; i++) s += qs[base + i]!;
      left -= m;
    }
    return s;
  }

  /** Sum of quantities from the best through `limit` (bids: price >= limit; asks: price <= limit). */
  depthTo(limit: number): number {
    const { keys, qs, count, order, sign } = this;
    // in key space both sides ascend: stop at the first key above sign * limit (a NaN limit never stops, as in the flat book)
    const keyLimit = sign * limit;
    let s = 0;
    for (let j = 0; j < this.blocks; j++) {
      const b = order[j]!;
      const base = b * BLOCK;
      const end = base + count[b]!;
      for (let i = base; i < end; i++) {
        if (keys[i]! > keyLimit) return s;
        s += qs[i]!;
      }
    }
    return s;
  }

  private flatten(): void {
    if (this.flatVersion === this.version) return;
    if (this.flatPrices.length < this.size) {
      this.flatPrices = new Float64Array(Math.max(1024, this.size * 2));
      this.flatQtys = new Float64Array(this.flatPrices.length);
    }
    let k = 0;
    for (let j = 0; j < this.blocks; j++) {
      const b = this.order[j]!;
      const base = b * BLOCK;
      for (let i = base, end = base + this.count[b]!; i < end; i++) {
        this.flatPrices[k] = this.sign * this.keys[i]!;
        this.flatQtys[k++] = this.qs[i]!;
      }
    }
    this.flatVersion = this.version;
  }

  /** Inserts at offset `at` of block `b` (position `j` in order), splitting a full block first. */
  private insertAt(j: number, b: number, at: number, key: number, qty: number): void {
    let n = this.count[b]!;
    if (n === BLOCK) {
      // split: the upper half moves to a new block right after this one
      if (this.freeCount === 0) this.grow();
      const nb = this.takeBlock();
      const half = BLOCK >> 1;
      const from = b * BLOCK + half;
      this.keys.copyWithin(nb * BLOCK, from, from + (BLOCK - half));
      this.qs.copyWithin(nb * BLOCK, from, from + (BLOCK - half));
      this.count[b] = half;
      this.count[nb] = BLOCK - half;
      this.order.copyWithin(j + 2, j + 1, this.blocks);
      this.firsts.copyWithin(j + 2, j + 1, this.blocks);
      this.order[j + 1] = nb;
      this.firsts[j + 1] = this.keys[nb * BLOCK]!;
      this.blocks++;
      if (at > half) {
        b = nb;
        j++;
        at -= half;
      }
      n = this.count[b]!;
    }
    const base = b * BLOCK;
    const keys = this.keys;
    const qs = this.qs;
    // a short shift by hand: copyWithin's call costs more than moving a few entries
    for (let i = base + n; i > base + at; i--) {
      keys[i] = keys[i - 1]!;
      qs[i] = qs[i - 1]!;
    }
    keys[base + at] = key;
    qs[base + at] = qty;
    this.count[b] = n + 1;
    if (at === 0) this.firsts[j] = key;
    this.size++;
  }

  /** Removes entry `i` (pool index) of block `b` (position `j` in order); empties and merges blocks as needed. */
  private removeAt(j: number, b: number, i: number): void {
    const base = b * BLOCK;
    const end = base + this.count[b]! - 1;
    const keys = this.keys;
    const qs = this.qs;
    for (let k = i; k < end; k++) {
      keys[k] = keys[k + 1]!;
      qs[k] = qs[k + 1]!;
    }
    const n = end - base;
    this.count[b] = n;
    this.size--;
    if (n === 0) {
      this.dropBlock(j);
      return;
    }
    if (i === base) this.firsts[j] = keys[base]!;
    if (n >= LOW) return;
    // merge the smaller pair: into the previous block, else take in the next one
    if (j > 0 && this.count[this.order[j - 1]!]! + n <= MERGED_MAX) this.mergeInto(j - 1);
    else if (j + 1 < this.blocks && this.count[this.order[j + 1]!]! + n <= MERGED_MAX) this.mergeInto(j);
  }

  /** Appends block order[j + 1] to block order[j] and drops it. */
  private mergeInto(j: number): void {
    const a = this.order[j]!;
    const b = this.order[j + 1]!;
    const na = this.count[a]!;
    const nb = this.count[b]!;
    this.keys.copyWithin(a * BLOCK + na, b * BLOCK, b * BLOCK + nb);
    this.qs.copyWithin(a * BLOCK + na, b * BLOCK, b * BLOCK + nb);
    this.count[a] = na + nb;
    this.count[b] = 0;
    this.dropBlock(j + 1);
  }

  /** Removes position j from the block order and frees its block. */
  private dropBlock(j: number): void {
    this.free[this.freeCount++] = this.order[j]!;
    this.order.copyWithin(j, j + 1, this.blocks);
    this.firsts.copyWithin(j, j + 1, this.blocks);
    this.blocks--;
  }

  private takeBlock(): number {
    if (this.freeCount === 0) this.grow();
    return this.free[--this.freeCount]!;
  }

  /** Doubles the pool (the only allocation, and only while the book grows past its largest size so far). */
  private grow(): void {
    const cap = this.count.length;
    const next = cap * 2;
    const keys = new Float64Array(next * BLOCK);
    keys.set(this.keys);
    const qs = new Float64Array(next * BLOCK);
    qs.set(this.qs);
    const count = new Int32Array(next);
    count.set(this.count);
    const order = new Int32Array(next);
    order.set(this.order);
    const firsts = new Float64Array(next);
    firsts.set(this.firsts);
    const free = new Int32Array(next);
    free.set(this.free.subarray(0, this.freeCount));
    for (let id = next - 1; id >= cap; id--) free[this.freeCount++] = id;
    this.keys = keys;
    this.qs = qs;
    this.count = count;
    this.order = order;
    this.firsts = firsts;
    this.free = free;
  }
}
