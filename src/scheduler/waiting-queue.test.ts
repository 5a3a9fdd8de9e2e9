import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ScanOptions } from './queue-scan.js';
import type { SchedulerJob } from './types.js';
import { WaitingQueue } from './waiting-queue.js';

let t = 0;
function job(id: string, o: Partial<SchedulerJob> = {}): SchedulerJob {
  return {
    id,
    owner: 'studio',
    priority: 0,
    requirements: { node_classes: ['SaveImage'], models: [] },
    shape: 's',
    submitted_at: ++t,
    ...o,
  };
}

const noFlight: ScanOptions = { in_flight: new Map() };

/** Takes jobs in queue order, as a dispatcher with always one free slot would. */
function drain(queue: WaitingQueue, n: number, options: ScanOptions = noFlight): SchedulerJob[] {
  const out: SchedulerJob[] = [];
  for (let i = 0; i < n; i++) {
    const e = queue.scan(options).next();
    if (e === null) break;
    out.push(queue.take(e.job.id) as SchedulerJob);
  }
  return out;
}

describe('WaitingQueue order', () => {
  it('takes higher priority first, FIFO within a priority', () => {
    const q = new WaitingQueue();
    q.enqueue(job('low1'));
    q.enqueue(job('high', { priority: 5 }));
    q.enqueue(job('mid', { priority: 1 }));
    q.enqueue(job('low2'));
    expect(drain(q, 10).map((j) => j.id)).toEqual(['high', 'mid', 'low1', 'low2']);
    expect(q.size).toBe(0);
  });

  it('puts jobs fewer instances can run before older jobs of the same owner and priority', () => {
    const q = new WaitingQueue();
    q.enqueue(job('general1'));
    q.enqueue(job('general2'));
    q.enqueue(job('rembg', { requirements: { node_classes: ['InspyrenetRembg'], models: [] } }));
    q.setSelectivity((cls) => (cls.requirements.node_classes.includes('InspyrenetRembg') ? 1 : 4));
    const ids = drain(q, 10).map((j) => j.id);
    expect(ids).toEqual(['rembg', 'general1', 'general2']);
  });

  it('keeps the FIFO place of a job put back after a failure', () => {
    const q = new WaitingQueue();
    const first = job('first');
    q.enqueue(first);
    q.enqueue(job('second'));
    expect(drain(q, 1)[0]?.id).toBe('first');
    q.enqueue(job('third'));
    q.enqueue({ ...first, excluded: ['gpu2'] });
    q.enqueue({ ...job('x'), excluded: [] });
    const order = drain(q, 10).map((j) => j.id);
    expect(order.indexOf('first')).toBeLessThan(order.indexOf('third'));
  });

  it('passes over a whole class when told it does not fit', () => {
    const q = new WaitingQueue();
    q.enqueue(job('a1', { pin: 'gpu1' }));
    q.enqueue(job('a2', { pin: 'gpu1' }));
    q.enqueue(job('b1'));
    const scan = q.scan(noFlight);
    const head = scan.next();
    expect(head?.job.id).toBe('a1');
    if (head) scan.skipClass(head.cls);
    expect(scan.next()?.job.id).toBe('b1');
  });
});

describe('WaitingQueue fair share', () => {
  it("places another owner's 10 jobs among the first 20, behind 10 000 of one owner", () => {
    const q = new WaitingQueue();
    for (let i = 0; i < 10_000; i++) q.enqueue(job(`a${i}`, { owner: 'batch' }));
    for (let i = 0; i < 10; i++) q.enqueue(job(`b${i}`, { owner: 'artist' }));
    const first = drain(q, 20);
    expect(first.filter((j) => j.owner === 'artist')).toHaveLength(10);
    expect(q.size).toBe(10_000 - 10);
  });

  it('looks at a handful of entries per decision, not at every waiting job', () => {
    const q = new WaitingQueue();
    for (let i = 0; i < 10_000; i++) q.enqueue(job(`a${i}`, { owner: `o${i % 3}` }));
    const scan = q.scan(noFlight);
    const e = scan.next();
    expect(e).not.toBeNull();
    expect(scan.examined).toBe(1);
  });

  it('shares by weight and by cost (estimated run time)', () => {
    const q = new WaitingQueue({ owner_weights: { big: 3 } });
    for (let i = 0; i < 100; i++) q.enqueue(job(`b${i}`, { owner: 'big' }));
    for (let i = 0; i < 100; i++) q.enqueue(job(`s${i}`, { owner: 'small' }));
    const big = drain(q, 40).filter((j) => j.owner === 'big').length;
    expect(big).toBeGreaterThanOrEqual(29);
    expect(big).toBeLessThanOrEqual(31);

    const q2 = new WaitingQueue();
    for (let i = 0; i < 50; i++) q2.enqueue(job(`long${i}`, { owner: 'long' }), 10_000);
    for (let i = 0; i < 50; i++) q2.enqueue(job(`short${i}`, { owner: 'short' }), 1000);
    const taken = drain(q2, 22);
    expect(taken.filter((j) => j.owner === 'long')).toHaveLength(2);
  });

  it('does not let an owner bank the share it did not use while it had nothing waiting', () => {
    const q = new WaitingQueue();
    for (let i = 0; i < 200; i++) q.enqueue(job(`a${i}`, { owner: 'a' }));
    q.enqueue(job('b0', { owner: 'b' }));
    drain(q, 100);
    for (let i = 1; i < 100; i++) q.enqueue(job(`b${i}`, { owner: 'b' }));
    const next = drain(q, 20);
    expect(next.filter((j) => j.owner === 'b').length).toBeLessThanOrEqual(11);
    expect(next.filter((j) => j.owner === 'a').length).toBeGreaterThanOrEqual(9);
  });

  it('honours per-owner caps on jobs on instances, counting jobs planned in the same walk', () => {
    const q = new WaitingQueue({ owner_caps: { batch: 2 }, default_owner_cap: null });
    for (let i = 0; i < 5; i++) q.enqueue(job(`a${i}`, { owner: 'batch' }));
    q.enqueue(job('b0', { owner: 'artist' }));
    const full = q.scan({ in_flight: new Map([['batch', 2]]) });
    expect(full.next()?.job.id).toBe('b0');

    const one = q.scan({ in_flight: new Map([['batch', 1]]) });
    const e = one.next();
    expect(e?.job.owner).toBe('batch');
    if (e) one.consume(e);
    expect(one.next()?.job.id).toBe('b0');
    expect(q.ownerCap('batch')).toBe(2);
    expect(q.ownerCap('artist')).toBeNull();
  });
});

describe('WaitingQueue bookkeeping', () => {
  it('removes cancelled jobs and rejects duplicates and malformed jobs', () => {
    const q = new WaitingQueue();
    q.enqueue(job('a'));
    q.enqueue(job('b'));
    expect(q.remove('a')?.id).toBe('a');
    expect(q.remove('a')).toBeNull();
    expect(q.has('a')).toBe(false);
    expect(drain(q, 5).map((j) => j.id)).toEqual(['b']);
    q.enqueue(job('c'));
    expect(() => q.enqueue(job('c'))).toThrow(/already waiting/);
    expect(() => q.enqueue({ ...job('d'), priority: Number.NaN })).toThrow(
      /invalid job d: priority must be a finite number/,
    );
  });

  it('survives many cancellations in the middle of a lane', () => {
    const q = new WaitingQueue();
    for (let i = 0; i < 500; i++) q.enqueue(job(`j${i}`));
    for (let i = 1; i < 499; i++) q.remove(`j${i}`);
    expect(drain(q, 10).map((j) => j.id)).toEqual(['j0', 'j499']);
  });

  it('estimates the work ahead of a job: higher priorities, own earlier jobs, fair share of others', () => {
    const q = new WaitingQueue();
    q.enqueue(job('urgent', { priority: 9 }), 5000);
    for (let i = 0; i < 10; i++) q.enqueue(job(`a${i}`, { owner: 'a' }), 1000);
    q.enqueue(job('b0', { owner: 'b' }), 1000);
    q.enqueue(job('b1', { owner: 'b' }), 1000);
    // b1: 5000 urgent + 1000 of its own (b0) + what a receives meanwhile (1000).
    expect(q.workAhead('b1')).toBe(7000);
    // a9: 5000 + 9000 own + b's 2000.
    expect(q.workAhead('a9')).toBe(16_000);
    expect(q.workAhead('nope')).toBeNull();
  });
});

describe('WaitingQueue against a brute-force reference', () => {
  interface RefJob {
    id: string;
    owner: string;
    priority: number;
    cls: string;
    at: number;
    seq: number;
    cost: number;
  }

  /** The order rules written out plainly: sort everything each time. */
  class Reference {
    jobs: RefJob[] = [];
    vtime = new Map<string, number>();
    live = new Map<string, number>();
    virtualNow = 0;
    seq = 0;
    constructor(readonly sel: (cls: string) => number) {}
    enqueue(j: Omit<RefJob, 'seq'>): void {
      const v = this.vtime.get(j.owner);
      if (v === undefined) this.vtime.set(j.owner, this.virtualNow);
      else if ((this.live.get(j.owner) ?? 0) === 0 && v < this.virtualNow) {
        this.vtime.set(j.owner, this.virtualNow);
      }
      this.live.set(j.owner, (this.live.get(j.owner) ?? 0) + 1);
      this.jobs.push({ ...j, seq: this.seq++ });
    }
    remove(id: string): void {
      const j = this.jobs.find((x) => x.id === id);
      if (!j) return;
      this.jobs = this.jobs.filter((x) => x !== j);
      this.live.set(j.owner, (this.live.get(j.owner) ?? 1) - 1);
    }
    take(id: string): void {
      const j = this.jobs.find((x) => x.id === id);
      if (!j) return;
      const v = this.vtime.get(j.owner) ?? 0;
      this.virtualNow = Math.max(this.virtualNow, v);
      this.vtime.set(j.owner, v + j.cost);
      this.remove(id);
    }
    /** A walk: consume or skip each returned job, as a placement decision would. */
    walk(decisions: boolean[]): string[] {
      const vt = new Map(this.vtime);
      let pool = [...this.jobs];
      const out: string[] = [];
      for (const consume of decisions) {
        if (pool.length === 0) break;
        const top = Math.max(...pool.map((j) => j.priority));
        const atTop = pool.filter((j) => j.priority === top);
        const key = (j: RefJob) => [vt.get(j.owner) ?? 0, this.sel(j.cls), j.at, j.seq];
        atTop.sort((a, b) => {
          const ka = key(a);
          const kb = key(b);
          for (let i = 0; i < ka.length; i++) {
            const d = (ka[i] ?? 0) - (kb[i] ?? 0);
            if (Math.abs(d) > 1e-9) return d;
          }
          return 0;
        });
        const next = atTop[0] as RefJob;
        out.push(next.id);
        if (consume) {
          vt.set(next.owner, (vt.get(next.owner) ?? 0) + next.cost);
          pool = pool.filter((j) => j !== next);
        } else {
          pool = pool.filter((j) => !(j.cls === next.cls));
        }
      }
      return out;
    }
  }

  const op = fc.oneof(
    fc.record({
      kind: fc.constant('enqueue' as const),
      owner: fc.constantFrom('a', 'b', 'c'),
      priority: fc.integer({ min: 0, max: 2 }),
      cls: fc.constantFrom('x', 'y', 'z'),
      at: fc.integer({ min: 0, max: 5 }),
      cost: fc.constantFrom(1, 2, 5),
    }),
    fc.record({ kind: fc.constant('take' as const) }),
    fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  );

  it('gives the same order as sorting everything, through enqueues, takes, cancels and walks', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 60 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
        (ops, decisions) => {
          const sel = (cls: string) => ({ x: 1, y: 2, z: 2 })[cls] ?? 9;
          const q = new WaitingQueue();
          q.setSelectivity((c) => sel(c.constraints.pin ?? ''));
          const ref = new Reference(sel);
          let n = 0;
          for (const o of ops) {
            if (o.kind === 'enqueue') {
              const id = `j${n++}`;
              // The class is carried by the pin, so jobs of one class share constraints.
              q.enqueue(
                {
                  ...job(id, { owner: o.owner, priority: o.priority, pin: o.cls }),
                  submitted_at: o.at,
                },
                o.cost,
              );
              ref.enqueue({
                id,
                owner: o.owner,
                priority: o.priority,
                cls: o.cls,
                at: o.at,
                cost: o.cost,
              });
            } else if (o.kind === 'take') {
              const e = q.scan(noFlight).next();
              const expected = ref.walk([true])[0];
              if ((e?.job.id ?? undefined) !== expected) return false;
              if (e) {
                q.take(e.job.id);
                ref.take(e.job.id);
              }
            } else {
              const ids = [...q.entries()].map((e) => e.job.id).sort();
              const id = ids.length > 0 ? ids[o.pick % ids.length] : undefined;
              if (id !== undefined) {
                q.remove(id);
                ref.remove(id);
              }
            }
            if (q.size !== ref.jobs.length) return false;
          }
          const scan = q.scan(noFlight);
          const got: string[] = [];
          for (const consume of decisions) {
            const e = scan.next();
            if (e === null) break;
            got.push(e.job.id);
            if (consume) scan.consume(e);
            else scan.skipClass(e.cls);
          }
          expect(got).toEqual(ref.walk(decisions));
          return true;
        },
      ),
      { numRuns: 400, seed: 7 },
    );
  });
});
