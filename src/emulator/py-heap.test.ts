import { describe, expect, it } from 'vitest';
import { heapify, heapPop, heapPush } from './py-heap.js';

const cmp = (a: number, b: number) => a - b;

describe('py-heap', () => {
  it('keeps the raw array order Python heapq gives', () => {
    const heap: number[] = [];
    for (const n of [5, 3, 8, 1, 9, 2]) heapPush(heap, n, cmp);
    // heapq.heappush sequence of [5, 3, 8, 1, 9, 2] in CPython gives [1, 3, 2, 5, 9, 8].
    expect(heap).toEqual([1, 3, 2, 5, 9, 8]);
    expect(heapPop(heap, cmp)).toBe(1);
    // heapq.heappop then leaves [2, 3, 8, 5, 9].
    expect(heap).toEqual([2, 3, 8, 5, 9]);
  });

  it('pops in sorted order and heapifies like heapq.heapify', () => {
    const heap = [9, 4, 7, 1, 8, 2];
    heapify(heap, cmp);
    // heapq.heapify([9, 4, 7, 1, 8, 2]) → [1, 4, 2, 9, 8, 7].
    expect(heap).toEqual([1, 4, 2, 9, 8, 7]);
    const out: number[] = [];
    for (let x = heapPop(heap, cmp); x !== undefined; x = heapPop(heap, cmp)) out.push(x);
    expect(out).toEqual([1, 2, 4, 7, 8, 9]);
  });
});
