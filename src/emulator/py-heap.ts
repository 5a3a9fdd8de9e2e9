/**
 * Python's `heapq` (push, pop, heapify) on a plain array, step for step, so the array's raw order
 * is the one a real server shows in /queue's `queue_pending` (which is not execution order).
 */

export type Compare<T> = (a: T, b: T) => number;

// heapq._siftdown: move the item at `pos` up towards `startpos`.
function siftDown<T>(heap: T[], startpos: number, pos: number, less: Compare<T>): void {
  const newitem = heap[pos] as T;
  while (pos > startpos) {
    const parentpos = (pos - 1) >> 1;
    const parent = heap[parentpos] as T;
    if (less(newitem, parent) < 0) {
      heap[pos] = parent;
      pos = parentpos;
      continue;
    }
    break;
  }
  heap[pos] = newitem;
}

// heapq._siftup: bubble the smaller child up until hitting a leaf, then sift the item down.
function siftUp<T>(heap: T[], pos: number, less: Compare<T>): void {
  const endpos = heap.length;
  const startpos = pos;
  const newitem = heap[pos] as T;
  let childpos = 2 * pos + 1;
  while (childpos < endpos) {
    const rightpos = childpos + 1;
    if (rightpos < endpos && !(less(heap[childpos] as T, heap[rightpos] as T) < 0)) {
      childpos = rightpos;
    }
    heap[pos] = heap[childpos] as T;
    pos = childpos;
    childpos = 2 * pos + 1;
  }
  heap[pos] = newitem;
  siftDown(heap, startpos, pos, less);
}

/**
 * `heapq.heappush`.
 *
 * @example
 * const heap: number[] = [];
 * heapPush(heap, 3, (a, b) => a - b);
 */
export function heapPush<T>(heap: T[], item: T, cmp: Compare<T>): void {
  heap.push(item);
  siftDown(heap, 0, heap.length - 1, cmp);
}

/** `heapq.heappop`: removes and returns the smallest item. */
export function heapPop<T>(heap: T[], cmp: Compare<T>): T | undefined {
  const last = heap.pop();
  if (last === undefined || heap.length === 0) return last;
  const top = heap[0];
  heap[0] = last;
  siftUp(heap, 0, cmp);
  return top;
}

/** `heapq.heapify`, in place. */
export function heapify<T>(heap: T[], cmp: Compare<T>): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftUp(heap, i, cmp);
}
