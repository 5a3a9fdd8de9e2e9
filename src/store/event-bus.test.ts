import { describe, expect, it } from 'vitest';
import { InProcessEventBus } from './event-bus.js';

type Events = {
  'instance.added': { id: string };
  'instance.removed': { id: string };
};

describe('InProcessEventBus', () => {
  it('delivers typed payloads to subscribers of that type and to wildcard subscribers', () => {
    const bus = new InProcessEventBus<Events>();
    const got: string[] = [];
    bus.subscribe('instance.added', (p, type) => got.push(`${type}:${p.id}`));
    bus.subscribe('*', (e) => got.push(`*${e.type}:${e.payload.id}`));
    bus.publish('instance.added', { id: 'a' });
    bus.publish('instance.removed', { id: 'b' });
    expect(got).toEqual(['instance.added:a', '*instance.added:a', '*instance.removed:b']);
  });

  it('unsubscribe stops delivery, is idempotent, and leaves no listeners behind', () => {
    const bus = new InProcessEventBus<Events>();
    let n = 0;
    const offs = Array.from({ length: 100 }, () => bus.subscribe('instance.added', () => void n++));
    const offAll = bus.subscribe('*', () => void n++);
    expect(bus.listenerCount()).toBe(101);
    for (const off of offs) {
      off();
      off();
    }
    offAll();
    bus.publish('instance.added', { id: 'x' });
    expect(n).toBe(0);
    expect(bus.listenerCount()).toBe(0);
    expect(bus.listenerCount('instance.added')).toBe(0);
  });

  it('the same function subscribed twice is two subscriptions, removed one at a time', () => {
    const bus = new InProcessEventBus<Events>();
    let n = 0;
    const h = () => void n++;
    const off1 = bus.subscribe('instance.added', h);
    bus.subscribe('instance.added', h);
    off1();
    bus.publish('instance.added', { id: 'x' });
    expect(n).toBe(1);
  });

  it('a throwing or rejecting handler is reported and does not stop the others', async () => {
    const errors: string[] = [];
    const bus = new InProcessEventBus<Events>({
      onHandlerError: (e, type) => errors.push(`${type}:${(e as Error).message}`),
    });
    const got: string[] = [];
    bus.subscribe('instance.added', () => {
      throw new Error('sync boom');
    });
    bus.subscribe('instance.added', async () => {
      throw new Error('async boom');
    });
    bus.subscribe('instance.added', (p) => void got.push(p.id));
    bus.subscribe('*', () => {
      throw new Error('wild boom');
    });
    expect(() => bus.publish('instance.added', { id: 'a' })).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual(['a']);
    expect(errors.sort()).toEqual([
      'instance.added:async boom',
      'instance.added:sync boom',
      'instance.added:wild boom',
    ]);
  });

  it('a handler may unsubscribe itself or others during delivery', () => {
    const bus = new InProcessEventBus<Events>();
    const got: string[] = [];
    const offB = bus.subscribe('instance.added', () => void got.push('b'));
    const offA = bus.subscribe('instance.added', () => {
      got.push('a');
      offA();
      offB();
    });
    bus.publish('instance.added', { id: '1' });
    bus.publish('instance.added', { id: '2' });
    expect(got).toEqual(['b', 'a']);
  });
});
