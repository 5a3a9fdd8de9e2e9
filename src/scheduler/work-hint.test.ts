import { describe, expect, it } from 'vitest';
import { promptWorkHint } from './work-hint.js';
import { standardWorkload } from './workload.js';

describe('promptWorkHint', () => {
  const w = standardWorkload({ seed: 1, jobs: 300 });
  const mean = (kind: string) => {
    const jobs = w.jobs.filter((j) => j.kind === kind);
    return jobs.reduce((n, j) => n + promptWorkHint(j.prompt), 0) / jobs.length;
  };

  it('ranks prompts by steps × image area: SDXL batch 4 ≫ SDXL ≫ SD1.5', () => {
    expect(mean('sdxl-batch4') / mean('sdxl')).toBeGreaterThan(3);
    expect(mean('sdxl') / mean('sd15')).toBeGreaterThan(3);
    expect(mean('sdxl-batch4') / mean('sd15')).toBeGreaterThan(15);
  });

  it('orders the kinds as their real work does', () => {
    const kinds = ['sd15', 'sdxl', 'sdxl-batch4'];
    const real = (kind: string) => {
      const jobs = w.jobs.filter((j) => j.kind === kind);
      return jobs.reduce((n, j) => n + j.work_ms, 0) / jobs.length;
    };
    const byHint = [...kinds].sort((a, b) => mean(a) - mean(b));
    const byWork = [...kinds].sort((a, b) => real(a) - real(b));
    expect(byHint).toEqual(byWork);
  });

  it('gives a small positive guess for prompts without sizes or steps', () => {
    expect(promptWorkHint({})).toBeGreaterThan(0);
    expect(
      promptWorkHint({
        '1': { class_type: 'SaveImage', inputs: { images: ['2', 0], width: 'x' } },
      }),
    ).toBeGreaterThan(0);
  });
});
