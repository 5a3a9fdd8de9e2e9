import { describe, expect, it } from 'vitest';
import { StallEscalation } from './stall-escalation.js';

function setup(restartable: (id: string) => boolean = (id) => id.startsWith('comfyui-')) {
  let now = 1_000_000;
  const restarts: [string, string][] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  let release: () => void = () => {};
  let failNext = false;
  const escalation = new StallEscalation({
    isRestartable: restartable,
    restart: (id, reason) => {
      restarts.push([id, reason]);
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('port in use'));
      }
      return new Promise<void>((r) => {
        release = r;
      });
    },
    minIntervalMs: 60_000,
    clock: () => now,
    log: { warn: (_f, m) => warnings.push(m), error: (_f, m) => errors.push(m) },
  });
  return {
    escalation,
    restarts,
    warnings,
    errors,
    advance: (ms: number) => {
      now += ms;
    },
    finish: () => release(),
    failNext: () => {
      failNext = true;
    },
  };
}

describe('StallEscalation', () => {
  it('restarts a managed instance once per interval and never a remote one', async () => {
    const t = setup();
    expect(t.escalation.instanceStalled('remote-1', 'job-a')).toBe('not_managed');
    expect(t.escalation.instanceStalled('comfyui-gpu0', 'job-a')).toBe('restarting');
    expect(t.restarts).toEqual([
      ['comfyui-gpu0', 'job job-a stalled (no events from the instance)'],
    ]);
    expect(t.escalation.instanceStalled('comfyui-gpu0', 'job-b')).toBe('busy');
    t.finish();
    await t.escalation.settled();
    t.advance(59_000);
    expect(t.escalation.instanceStalled('comfyui-gpu0', 'job-c')).toBe('recently_restarted');
    // Another instance has its own budget.
    expect(t.escalation.instanceStalled('comfyui-gpu1', 'job-c')).toBe('restarting');
    t.finish();
    await t.escalation.settled();
    t.advance(1_000);
    expect(t.escalation.instanceStalled('comfyui-gpu0', 'job-d')).toBe('restarting');
    expect(t.restarts.map(([id]) => id)).toEqual(['comfyui-gpu0', 'comfyui-gpu1', 'comfyui-gpu0']);
    expect(t.warnings).toContain(
      'job stalled on a managed instance restarted recently: not restarting it again yet',
    );
  });

  it('logs a failed restart instead of throwing', async () => {
    const t = setup();
    t.failNext();
    expect(t.escalation.instanceStalled('comfyui-gpu0', 'job-a')).toBe('restarting');
    await t.escalation.settled();
    expect(t.errors).toEqual(['restart after a stalled job failed']);
  });
});
