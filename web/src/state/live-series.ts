/**
 * Small in-memory time series the dashboard fills from live events (response times per instance,
 * job completions, queue depth). Each series is a bounded ring of `[time ms, value]`; readers
 * subscribe and get a version number that changes on every write (for useSyncExternalStore).
 */

export type Point = readonly [number, number];

const MAX_POINTS = 720;
/** Points older than this are dropped (the charts show the last hour). */
export const SERIES_WINDOW_MS = 3_600_000;

/**
 * A set of named series.
 *
 * @example
 * const s = new LiveSeries();
 * s.add('latency:gpu1', Date.now(), 42);
 * s.get('latency:gpu1'); // [[t, 42]]
 */
export class LiveSeries {
  #series = new Map<string, Point[]>();
  #listeners = new Set<() => void>();
  #version = 0;
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  add(name: string, at: number, value: number): void {
    let s = this.#series.get(name);
    if (!s) {
      s = [];
      this.#series.set(name, s);
    }
    // Keep time order even if events arrive slightly out of order.
    if (s.length > 0 && s[s.length - 1]![0] > at) {
      let i = s.length - 1;
      while (i > 0 && s[i - 1]![0] > at) i--;
      s.splice(i, 0, [at, value]);
    } else s.push([at, value]);
    const cutoff = this.#now() - SERIES_WINDOW_MS;
    let drop = 0;
    while (drop < s.length && s[drop]![0] < cutoff) drop++;
    if (s.length - drop > MAX_POINTS) drop = s.length - MAX_POINTS;
    if (drop > 0) s.splice(0, drop);
    this.#bump();
  }

  get(name: string): readonly Point[] {
    return this.#series.get(name) ?? [];
  }

  names(prefix = ''): string[] {
    return [...this.#series.keys()].filter((k) => k.startsWith(prefix));
  }

  /** Counts of points per `bucketMs` bucket over the last `windowMs` (e.g. jobs per minute). */
  buckets(
    name: string,
    bucketMs: number,
    windowMs = SERIES_WINDOW_MS,
  ): { t: number[]; n: number[] } {
    const now = this.#now();
    const start = Math.floor((now - windowMs) / bucketMs) * bucketMs;
    // The bucket holding `now` is included (a point at exactly now counts).
    const count = Math.floor((now - start) / bucketMs) + 1;
    const t: number[] = [];
    const n: number[] = [];
    for (let i = 0; i < count; i++) {
      t.push((start + i * bucketMs) / 1000);
      n.push(0);
    }
    for (const [at, v] of this.get(name)) {
      const i = Math.floor((at - start) / bucketMs);
      if (i >= 0 && i < count) n[i] = (n[i] ?? 0) + v;
    }
    return { t, n };
  }

  subscribe = (fn: () => void): (() => void) => {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  };

  version = (): number => this.#version;

  #bump(): void {
    this.#version++;
    for (const fn of this.#listeners) fn();
  }
}

/** The dashboard's one series store. */
export const liveSeries = new LiveSeries();
