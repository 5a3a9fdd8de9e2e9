/**
 * A small dense simplex (two phases, Bland's rule) for the scheduler's lower bounds: tens of
 * variables and constraints, not more.
 */

/** min objective·x subject to rows, x ≥ 0. Every `rhs` must be ≥ 0. */
export interface LinearProgram {
  objective: readonly number[];
  /** coeffs·x ≤ rhs. */
  at_most?: readonly { coeffs: readonly number[]; rhs: number }[];
  /** coeffs·x = rhs. */
  equal?: readonly { coeffs: readonly number[]; rhs: number }[];
}

/** The optimum, or why there is none. */
export type LpResult =
  | { status: 'optimal'; value: number; x: number[] }
  | { status: 'infeasible' | 'unbounded' };

const EPS = 1e-9;
const MAX_PIVOTS = 50_000;

/**
 * Solves a small linear program exactly enough for bounds (ε = 1e-9).
 *
 * @example
 * // min t subject to x + y = 1, x ≤ t, 2y ≤ t  →  t = 2/3
 * solveLp({
 *   objective: [0, 0, 1],
 *   equal: [{ coeffs: [1, 1, 0], rhs: 1 }],
 *   at_most: [{ coeffs: [1, 0, -1], rhs: 0 }, { coeffs: [0, 2, -1], rhs: 0 }],
 * }); // { status: 'optimal', value: 0.666..., x: [...] }
 */
export function solveLp(lp: LinearProgram): LpResult {
  const n = lp.objective.length;
  const le = lp.at_most ?? [];
  const eq = lp.equal ?? [];
  const m = le.length + eq.length;
  for (const r of [...le, ...eq]) {
    if (!(r.rhs >= 0)) throw new RangeError('solveLp: every rhs must be ≥ 0');
  }
  // Columns: x (n), slacks (le), artificials (eq), rhs.
  const width = n + le.length + eq.length + 1;
  const rhsCol = width - 1;
  const rows: number[][] = [];
  const basis: number[] = [];
  le.forEach((r, k) => {
    const row = new Array<number>(width).fill(0);
    for (let j = 0; j < n; j++) row[j] = r.coeffs[j] ?? 0;
    row[n + k] = 1;
    row[rhsCol] = r.rhs;
    rows.push(row);
    basis.push(n + k);
  });
  eq.forEach((r, k) => {
    const row = new Array<number>(width).fill(0);
    for (let j = 0; j < n; j++) row[j] = r.coeffs[j] ?? 0;
    row[n + le.length + k] = 1;
    row[rhsCol] = r.rhs;
    rows.push(row);
    basis.push(n + le.length + k);
  });
  const artificial = (j: number) => j >= n + le.length && j < rhsCol;

  // Phase 1: minimise the sum of the artificials.
  if (eq.length > 0) {
    const cost = new Array<number>(width).fill(0);
    for (let j = n + le.length; j < rhsCol; j++) cost[j] = 1;
    const ok = run(rows, basis, cost, rhsCol, () => true);
    if (ok !== 'optimal') return { status: 'infeasible' };
    let infeas = 0;
    for (let i = 0; i < m; i++)
      if (artificial(basis[i] as number)) infeas += rows[i]?.[rhsCol] ?? 0;
    if (infeas > 1e-7) return { status: 'infeasible' };
    // Drive artificials out of the basis where possible.
    for (let i = 0; i < m; i++) {
      if (!artificial(basis[i] as number)) continue;
      const row = rows[i] as number[];
      const j = row.findIndex((v, k) => k < n + le.length && Math.abs(v) > EPS);
      if (j >= 0) pivot(rows, basis, i, j);
    }
  }
  const cost = new Array<number>(width).fill(0);
  for (let j = 0; j < n; j++) cost[j] = lp.objective[j] ?? 0;
  const status = run(rows, basis, cost, rhsCol, (j) => !artificial(j));
  if (status === 'unbounded') return { status: 'unbounded' };
  const x = new Array<number>(n).fill(0);
  for (let i = 0; i < m; i++) {
    const b = basis[i] as number;
    if (b < n) x[b] = rows[i]?.[rhsCol] ?? 0;
  }
  const value = x.reduce((s, v, j) => s + v * (lp.objective[j] ?? 0), 0);
  return { status: 'optimal', value, x };
}

function run(
  rows: number[][],
  basis: number[],
  cost: readonly number[],
  rhsCol: number,
  allowed: (j: number) => boolean,
): 'optimal' | 'unbounded' {
  for (let iter = 0; iter < MAX_PIVOTS; iter++) {
    // Reduced costs: c_j − c_B·column_j. Bland: the first improving column.
    let enter = -1;
    for (let j = 0; j < rhsCol && enter < 0; j++) {
      if (!allowed(j) || basis.includes(j)) continue;
      let rc = cost[j] ?? 0;
      for (let i = 0; i < rows.length; i++)
        rc -= (cost[basis[i] as number] ?? 0) * (rows[i]?.[j] ?? 0);
      if (rc < -EPS) enter = j;
    }
    if (enter < 0) return 'optimal';
    let leave = -1;
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < rows.length; i++) {
      const a = rows[i]?.[enter] ?? 0;
      if (a <= EPS) continue;
      const ratio = (rows[i]?.[rhsCol] ?? 0) / a;
      if (
        ratio < best - EPS ||
        (Math.abs(ratio - best) <= EPS && (basis[i] as number) < (basis[leave] as number))
      ) {
        best = ratio;
        leave = i;
      }
    }
    if (leave < 0) return 'unbounded';
    pivot(rows, basis, leave, enter);
  }
  return 'optimal';
}

function pivot(rows: number[][], basis: number[], r: number, c: number): void {
  const row = rows[r] as number[];
  const p = row[c] as number;
  for (let j = 0; j < row.length; j++) row[j] = (row[j] as number) / p;
  for (let i = 0; i < rows.length; i++) {
    if (i === r) continue;
    const other = rows[i] as number[];
    const f = other[c] as number;
    if (f === 0) continue;
    for (let j = 0; j < other.length; j++) other[j] = (other[j] as number) - f * (row[j] as number);
  }
  basis[r] = c;
}
