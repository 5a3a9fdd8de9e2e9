import { describe, expect, it } from 'vitest';
import { RuntimeEstimator } from './estimator.js';

describe('RuntimeEstimator', () => {
  it('uses the prior until a pair is measured, then the mean of the first samples', () => {
    const est = new RuntimeEstimator({ prior_ms: 8000 });
    expect(est.estimate('gpu1', 's')).toBe(8000);
    est.record('gpu1', 's', 1000);
    expect(est.estimate('gpu1', 's')).toBe(1000);
    est.record('gpu1', 's', 2000);
    expect(est.estimate('gpu1', 's')).toBe(1500);
    expect(est.samples('gpu1', 's')).toBe(2);
  });

  it('becomes a moving average that follows a change in speed', () => {
    const est = new RuntimeEstimator({ alpha: 0.3 });
    for (let i = 0; i < 10; i++) est.record('gpu1', 's', 1000);
    est.record('gpu1', 's', 2000);
    expect(est.estimate('gpu1', 's')).toBeCloseTo(1300, 6);
    for (let i = 0; i < 30; i++) est.record('gpu1', 's', 2000);
    expect(est.estimate('gpu1', 's')).toBeGreaterThan(1990);
  });

  it('estimates an unmeasured pair from the shape elsewhere and the instance speed', () => {
    const est = new RuntimeEstimator();
    est.record('fast', 'a', 1000);
    est.record('slow', 'a', 4000);
    est.record('fast', 'b', 500);
    expect(est.estimate('slow', 'b')).toBeCloseTo(2000, 0);
    expect(est.speedOf('fast') / est.speedOf('slow')).toBeCloseTo(4, 3);
  });

  it('falls back to speed hints, shape priors and the typical shape', () => {
    const est = new RuntimeEstimator({
      prior_ms: 10_000,
      speed_hints: { fast: 2 },
      shape_priors: { big: 60_000 },
    });
    expect(est.estimate('fast', 'unknown')).toBe(5000);
    expect(est.estimate('other', 'big')).toBe(60_000);
    est.record('other', 'x', 3000);
    // A never-seen shape now costs like the shapes seen so far.
    expect(est.estimate('other', 'new')).toBeCloseTo(3000, 0);
  });

  it('ignores measurements that are not times, and forgets an instance', () => {
    const est = new RuntimeEstimator({ prior_ms: 5000 });
    est.record('gpu1', 's', Number.NaN);
    est.record('gpu1', 's', -3);
    est.record('gpu1', 's', Number.POSITIVE_INFINITY);
    expect(est.samples('gpu1', 's')).toBe(0);
    est.record('gpu1', 's', 700);
    est.forget('gpu1');
    expect(est.estimate('gpu1', 's')).toBe(5000);
  });

  it('uses prompt guesses for unmeasured shapes, rescaled by how measured shapes compare', () => {
    const est = new RuntimeEstimator({ prior_ms: 10_000 });
    est.hint('small', 1000);
    est.hint('big', 20_000);
    est.hint('big', 5); // the first guess of a shape stays
    est.hint('bad', Number.NaN);
    expect(est.estimate('gpu1', 'big')).toBe(20_000);
    expect(est.estimate('gpu1', 'bad')).toBe(10_000);
    // Measured: "small" really takes 3000 at speed 1, three times its guess.
    est.record('gpu1', 'small', 3000);
    expect(est.estimate('gpu2', 'big')).toBeCloseTo(60_000, 6);
    // Once measured, a shape's guess no longer matters.
    est.record('gpu1', 'big', 40_000);
    expect(est.estimate('gpu2', 'big')).toBeCloseTo(40_000, 6);
  });
});
