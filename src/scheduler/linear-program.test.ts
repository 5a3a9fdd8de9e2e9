import { describe, expect, it } from 'vitest';
import { solveLp } from './linear-program.js';

describe('solveLp', () => {
  it('finds the optimum of a small minimisation with equalities', () => {
    // min t: x + y = 1, x ≤ t, 2y ≤ t → x = 2/3, t = 2/3
    const r = solveLp({
      objective: [0, 0, 1],
      equal: [{ coeffs: [1, 1, 0], rhs: 1 }],
      at_most: [
        { coeffs: [1, 0, -1], rhs: 0 },
        { coeffs: [0, 2, -1], rhs: 0 },
      ],
    });
    expect(r.status).toBe('optimal');
    if (r.status !== 'optimal') return;
    expect(r.value).toBeCloseTo(2 / 3, 9);
    expect(r.x[0]).toBeCloseTo(2 / 3, 9);
  });

  it('maximises through a negated objective', () => {
    // max x + y: x + 2y ≤ 4, 3x + y ≤ 6 → (1.6, 1.2)
    const r = solveLp({
      objective: [-1, -1],
      at_most: [
        { coeffs: [1, 2], rhs: 4 },
        { coeffs: [3, 1], rhs: 6 },
      ],
    });
    expect(r).toMatchObject({ status: 'optimal' });
    if (r.status === 'optimal') expect(r.value).toBeCloseTo(-2.8, 9);
  });

  it('says infeasible and unbounded instead of returning a number', () => {
    expect(solveLp({ objective: [1], equal: [{ coeffs: [0], rhs: 1 }] }).status).toBe('infeasible');
    expect(solveLp({ objective: [-1], at_most: [{ coeffs: [-1], rhs: 1 }] }).status).toBe(
      'unbounded',
    );
  });

  it('rejects a negative right-hand side with a clear error', () => {
    expect(() => solveLp({ objective: [1], at_most: [{ coeffs: [1], rhs: -1 }] })).toThrow(
      /rhs must be ≥ 0/,
    );
  });

  it('survives degenerate programs (many zero right-hand sides) without cycling', () => {
    // min t: 5 classes split over 4 machines, each machine's load ≤ t (all rhs 0).
    const classes = 5;
    const machines = 4;
    const n = classes * machines + 1;
    const equal = Array.from({ length: classes }, (_, c) => ({
      coeffs: Array.from({ length: n }, (_, j) =>
        j < n - 1 && Math.floor(j / machines) === c ? 1 : 0,
      ),
      rhs: 1,
    }));
    const at_most = Array.from({ length: machines }, (_, m) => ({
      coeffs: Array.from({ length: n }, (_, j) =>
        j === n - 1 ? -1 : j % machines === m ? 1000 * (1 + (j % 3)) : 0,
      ),
      rhs: 0,
    }));
    const objective = Array.from({ length: n }, (_, j) => (j === n - 1 ? 1 : 0));
    const r = solveLp({ objective, equal, at_most });
    expect(r.status).toBe('optimal');
    if (r.status !== 'optimal') return;
    // Cheapest cost is 1000 per class: 5000 of work over 4 machines at least.
    expect(r.value).toBeGreaterThanOrEqual(1250 - 1e-6);
    // The answer is a feasible split whose busiest machine is the value.
    for (const row of equal) {
      expect(row.coeffs.reduce<number>((sum, c, j) => sum + c * (r.x[j] ?? 0), 0)).toBeCloseTo(
        1,
        9,
      );
    }
    const loads = at_most.map((row) =>
      row.coeffs.slice(0, n - 1).reduce<number>((sum, c, j) => sum + c * (r.x[j] ?? 0), 0),
    );
    expect(Math.max(...loads)).toBeCloseTo(r.value, 6);
  });
});
