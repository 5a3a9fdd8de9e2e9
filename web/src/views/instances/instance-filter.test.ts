import { describe, expect, it } from 'vitest';
import { instanceView } from '../../testing/fixtures.js';
import { actionsFor, allTags, filterInstances, NO_FILTER } from './instance-filter.js';

const inst = instanceView;

describe('filterInstances', () => {
  const list = [
    inst('a', { tags: ['sdxl'], health: 'healthy', port: 8188 }),
    inst('b', { status: 'paused', health: 'degraded', host: 'gpu-box', port: 8189 }),
    inst('c', { tags: ['sdxl', 'fast'], health: 'unknown' }),
  ];
  it('matches words anywhere (name, host:port, tags), and status, health and tag exactly', () => {
    expect(filterInstances(list, {}, NO_FILTER).map((i) => i.id)).toEqual(['a', 'b', 'c']);
    expect(
      filterInstances(list, {}, { ...NO_FILTER, text: 'GPU-box:8189' }).map((i) => i.id),
    ).toEqual(['b']);
    expect(filterInstances(list, {}, { ...NO_FILTER, text: 'sdxl fast' }).map((i) => i.id)).toEqual(
      ['c'],
    );
    expect(filterInstances(list, {}, { ...NO_FILTER, status: 'paused' }).map((i) => i.id)).toEqual([
      'b',
    ]);
    expect(filterInstances(list, {}, { ...NO_FILTER, tag: 'sdxl' }).map((i) => i.id)).toEqual([
      'a',
      'c',
    ]);
    expect(filterInstances(list, {}, { ...NO_FILTER, health: 'healthy' }).map((i) => i.id)).toEqual(
      ['a'],
    );
  });

  it('uses the live health report when it is newer than the list', () => {
    const map = {
      a: {
        instance_id: 'a',
        health: 'unhealthy' as const,
        circuit: 'open' as const,
        reasons: [],
        checked_at: '2030-01-01T00:00:00Z',
        latency_ms: null,
        consecutive_failures: 3,
        last_error: 'refused',
        next_probe_at: null,
        comfyui_version: null,
        vram_free: null,
        vram_total: null,
      },
    };
    expect(
      filterInstances(list, map, { ...NO_FILTER, health: 'unhealthy' }).map((i) => i.id),
    ).toEqual(['a']);
  });

  it('lists tags and the actions each status allows', () => {
    expect(allTags(list)).toEqual(['fast', 'sdxl']);
    expect(actionsFor('running')).toEqual(['pause', 'stop']);
    expect(actionsFor('paused')).toEqual(['resume', 'stop']);
    expect(actionsFor('stopped')).toEqual(['start']);
    expect(actionsFor('error')).toEqual(['start']);
  });
});
