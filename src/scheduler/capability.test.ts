import { describe, expect, it } from 'vitest';
import type { NodeInfo } from '../comfy/protocol.js';
import { type CapabilityTarget, canRun, checkFleet } from './capability.js';
import type { JobRequirements } from './types.js';

const info = {} as NodeInfo;
function target(
  id: string,
  nodes: string[],
  models: Record<string, string[]>,
  tags: string[] = [],
): CapabilityTarget {
  return {
    id,
    capabilities: { node_classes: Object.fromEntries(nodes.map((n) => [n, info])), models },
    tags,
  };
}

const CORE = ['CheckpointLoaderSimple', 'KSampler', 'SaveImage'];
const req: JobRequirements = {
  node_classes: ['CheckpointLoaderSimple', 'InspyrenetRembg', 'KSampler', 'SaveImage'],
  models: [{ folder: 'checkpoints', file: 'sdxl.safetensors' }],
};

describe('canRun', () => {
  const full = target('gpu1', [...CORE, 'InspyrenetRembg'], { checkpoints: ['sdxl.safetensors'] }, [
    'sdxl',
  ]);

  it('accepts an instance with every node class and model file', () => {
    expect(canRun(req, full)).toEqual({ ok: true });
  });

  it('names the missing node classes, model files and tags', () => {
    const r = canRun(req, target('gpu2', CORE, { checkpoints: ['sd15.safetensors'] }), {
      tags: ['sdxl'],
    });
    expect(r).toMatchObject({
      ok: false,
      missing_nodes: ['InspyrenetRembg'],
      missing_models: [{ folder: 'checkpoints', file: 'sdxl.safetensors' }],
      missing_tags: ['sdxl'],
    });
    if (!r.ok) {
      expect(r.reason).toBe(
        'gpu2: lacks node InspyrenetRembg; model checkpoints/sdxl.safetensors; tag sdxl',
      );
    }
  });

  it('honours a pin and exclusions', () => {
    expect(canRun(req, full, { pin: 'gpu1' }).ok).toBe(true);
    expect(canRun(req, full, { pin: 'gpu9' })).toMatchObject({ ok: false, pinned_elsewhere: true });
    expect(canRun(req, full, { excluded: ['gpu1'] })).toMatchObject({ ok: false, excluded: true });
    expect(canRun(req, full, { tags: ['sdxl'] }).ok).toBe(true);
  });

  it('does not take inherited object keys for node classes or folders', () => {
    const r = canRun(
      { node_classes: ['constructor'], models: [{ folder: 'toString', file: 'x' }] },
      target('gpu1', [], {}),
    );
    expect(r).toMatchObject({ ok: false, missing_nodes: ['constructor'] });
  });
});

describe('checkFleet (fail fast at submit)', () => {
  it('lists the instances that could run the job', () => {
    const check = checkFleet(req, [
      target('a', [...CORE, 'InspyrenetRembg'], { checkpoints: ['sdxl.safetensors'] }),
      target('b', CORE, { checkpoints: ['sdxl.safetensors'] }),
    ]);
    expect(check.ok).toBe(true);
    expect(check.capable).toEqual(['a']);
    expect(check.per_instance.b?.missing_nodes).toEqual(['InspyrenetRembg']);
    expect(check.reason).toBeNull();
  });

  it('names what no instance has', () => {
    const check = checkFleet(req, [
      target('a', CORE, { checkpoints: ['sd15.safetensors'] }),
      target('b', CORE, {}),
    ]);
    expect(check).toMatchObject({
      ok: false,
      capable: [],
      missing_nodes: ['InspyrenetRembg'],
      missing_models: [{ folder: 'checkpoints', file: 'sdxl.safetensors' }],
    });
    expect(check.reason).toBe(
      'no instance has node InspyrenetRembg; model checkpoints/sdxl.safetensors',
    );
  });

  it('says when everything exists, but never on one instance', () => {
    const check = checkFleet(req, [
      target('a', [...CORE, 'InspyrenetRembg'], {}),
      target('b', CORE, { checkpoints: ['sdxl.safetensors'] }),
    ]);
    expect(check.ok).toBe(false);
    expect(check.missing_nodes).toEqual([]);
    expect(check.missing_models).toEqual([]);
    expect(check.reason).toBe(
      'no single instance has everything the job needs: a: lacks model checkpoints/sdxl.safetensors | b: lacks node InspyrenetRembg',
    );
  });

  it('explains pins to unknown instances, exhausted retries and an empty fleet', () => {
    const good = target('a', [...CORE, 'InspyrenetRembg'], { checkpoints: ['sdxl.safetensors'] });
    expect(checkFleet(req, [good], { pin: 'zz' }).reason).toBe(
      'the job is pinned to instance zz, which does not exist',
    );
    expect(checkFleet(req, [good], { excluded: ['a'] }).reason).toBe(
      'the job already failed on every instance it may run on',
    );
    expect(checkFleet(req, []).reason).toBe('no instance is configured');
    expect(checkFleet(req, [good], { tags: ['gpu-80gb'] }).reason).toBe(
      'no instance has tag gpu-80gb',
    );
  });
});
