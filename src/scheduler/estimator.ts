/** Options of `RuntimeEstimator`. */
export interface EstimatorOptions {
  /** Weight of a new sample in the moving average (after warm-up). Default 0.3. */
  alpha?: number;
  /** Run time (ms, at speed 1) assumed for a shape nothing is known about. Default 10 000. */
  prior_ms?: number;
  /** Relative speed known in advance per instance (1 = reference, 2 = twice as fast). */
  speed_hints?: Readonly<Record<string, number>>;
  /** Run time (ms at speed 1) known in advance per shape. */
  shape_priors?: Readonly<Record<string, number>>;
}

interface Cell {
  ms: number;
  n: number;
}

const FIT_MAX_ROUNDS = 200;
const FIT_TOLERANCE = 1e-7;

/**
 * Online run-time estimates per (instance, workflow shape): a moving average of measured execution
 * times, the mean of the first samples while warming up. Where a pair has no sample yet, it
 * falls back to the shape's time on other instances scaled by this instance's speed (a
 * log-additive fit over all samples: time = shape work ÷ instance speed), then to a prior.
 *
 * @example
 * const est = new RuntimeEstimator();
 * est.record('gpu-fast', 'shape-a', 1000);
 * est.record('gpu-slow', 'shape-a', 4000);
 * est.record('gpu-fast', 'shape-b', 500);
 * est.estimate('gpu-slow', 'shape-b'); // ≈ 2000: shape-b is half of shape-a, gpu-slow 4× slower
 */
export class RuntimeEstimator {
  private readonly alpha: number;
  private readonly priorMs: number;
  private readonly speedHints: Readonly<Record<string, number>>;
  private readonly shapePriors: Readonly<Record<string, number>>;
  private readonly cells = new Map<string, Map<string, Cell>>();
  private readonly hints = new Map<string, number>();
  private hintScaleLog = 0;
  private dirty = false;
  private shapeLog = new Map<string, number>();
  private speedLog = new Map<string, number>();
  private typicalLog: number | null = null;

  constructor(options: EstimatorOptions = {}) {
    this.alpha = clamp(options.alpha ?? 0.3, 0.01, 1);
    this.priorMs = positive(options.prior_ms, 10_000);
    this.speedHints = options.speed_hints ?? {};
    this.shapePriors = options.shape_priors ?? {};
  }

  /**
   * Records a measured execution time (ms; model loading excluded where the runner can tell).
   * Non-finite or negative values are ignored.
   *
   * @example
   * estimator.record('gpu1', job.shape, 5230);
   */
  record(instance: string, shape: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const value = Math.max(ms, 1);
    let byShape = this.cells.get(instance);
    if (byShape === undefined) {
      byShape = new Map();
      this.cells.set(instance, byShape);
    }
    const cell = byShape.get(shape);
    if (cell === undefined) byShape.set(shape, { ms: value, n: 1 });
    else {
      cell.n += 1;
      const a = Math.max(this.alpha, 1 / cell.n);
      cell.ms += a * (value - cell.ms);
    }
    this.dirty = true;
  }

  /**
   * Expected execution time (ms) of a job of `shape` on `instance`.
   *
   * @example
   * const ms = estimator.estimate('gpu1', job.shape);
   */
  estimate(instance: string, shape: string): number {
    const cell = this.cells.get(instance)?.get(shape);
    if (cell !== undefined) return cell.ms;
    return this.referenceMs(shape) / this.speedOf(instance);
  }

  /**
   * Run time (ms) of a shape on a reference (speed 1) instance: fitted, else its prior, else the
   * typical shape's time, else `prior_ms`.
   *
   * @example
   * estimator.referenceMs(job.shape); // used as a job's cost for fair share
   */
  referenceMs(shape: string): number {
    this.fit();
    const fitted = this.shapeLog.get(shape);
    if (fitted !== undefined) return Math.exp(fitted);
    const prior = this.shapePriors[shape];
    if (prior !== undefined && prior > 0) return prior;
    const guess = this.hints.get(shape);
    if (guess !== undefined) return guess * Math.exp(this.hintScaleLog);
    return this.typicalLog === null ? this.priorMs : Math.exp(this.typicalLog);
  }

  /**
   * A guess of a shape's run time at speed 1 from its prompt (see `promptWorkHint`), used while
   * the shape has no sample on any instance. Guesses are rescaled by how measured shapes compare
   * with their own guesses, so only their ratios matter. The first guess of a shape stays.
   *
   * @example
   * estimator.hint(job.shape, promptWorkHint(prompt));
   */
  hint(shape: string, ms: number): void {
    if (!Number.isFinite(ms) || ms <= 0 || this.hints.has(shape)) return;
    this.hints.set(shape, ms);
    this.dirty = true;
  }

  /**
   * Relative speed of an instance (1 = reference; fitted from samples, else its hint, else 1).
   *
   * @example
   * estimator.speedOf('gpu-fast'); // ≈ 2 after a few jobs on a 2× faster GPU
   */
  speedOf(instance: string): number {
    this.fit();
    const fitted = this.speedLog.get(instance);
    if (fitted !== undefined) return Math.exp(fitted);
    return hint(this.speedHints, instance);
  }

  /**
   * Number of samples recorded for a pair.
   *
   * @example
   * estimator.samples('gpu1', job.shape); // 0 while the pair is unmeasured
   */
  samples(instance: string, shape: string): number {
    return this.cells.get(instance)?.get(shape)?.n ?? 0;
  }

  /**
   * Forgets an instance's samples (e.g. after its GPU changed).
   *
   * @example
   * estimator.forget('gpu1');
   */
  forget(instance: string): void {
    if (this.cells.delete(instance)) this.dirty = true;
  }

  // log(time) = shapeLog - speedLog, fitted by alternating means. The fit fixes speeds only up
  // to a common factor: that factor is chosen so that measured instances keep the mean of their
  // hints (1 when there are none).
  private fit(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const speed = new Map<string, number>();
    for (const instance of this.cells.keys()) {
      speed.set(instance, Math.log(hint(this.speedHints, instance)));
    }
    const shape = new Map<string, number>();
    for (let round = 0; round < FIT_MAX_ROUNDS; round++) {
      const sums = new Map<string, [number, number]>();
      for (const [instance, byShape] of this.cells) {
        const b = speed.get(instance) ?? 0;
        for (const [s, cell] of byShape) {
          const acc = sums.get(s) ?? [0, 0];
          acc[0] += Math.log(cell.ms) + b;
          acc[1] += 1;
          sums.set(s, acc);
        }
      }
      for (const [s, [sum, n]] of sums) shape.set(s, sum / n);
      let change = 0;
      let offset = 0;
      for (const [instance, byShape] of this.cells) {
        let sum = 0;
        for (const [s, cell] of byShape) sum += (shape.get(s) ?? 0) - Math.log(cell.ms);
        const next = byShape.size > 0 ? sum / byShape.size : 0;
        change = Math.max(change, Math.abs(next - (speed.get(instance) ?? 0)));
        speed.set(instance, next);
        offset += next - Math.log(hint(this.speedHints, instance));
      }
      offset /= Math.max(1, this.cells.size);
      for (const [instance, v] of speed) speed.set(instance, v - offset);
      for (const [s, v] of shape) shape.set(s, v - offset);
      if (change < FIT_TOLERANCE) break;
    }
    this.shapeLog = shape;
    this.speedLog = speed;
    let total = 0;
    for (const v of shape.values()) total += v;
    this.typicalLog = shape.size > 0 ? total / shape.size : null;
    let scale = 0;
    let n = 0;
    for (const [s, v] of shape) {
      const guess = this.hints.get(s);
      if (guess === undefined) continue;
      scale += v - Math.log(guess);
      n++;
    }
    this.hintScaleLog = n > 0 ? scale / n : 0;
  }
}

function hint(hints: Readonly<Record<string, number>>, instance: string): number {
  const h = Object.hasOwn(hints, instance) ? hints[instance] : undefined;
  return h !== undefined && Number.isFinite(h) && h > 0 ? h : 1;
}

function clamp(v: number, lo: number, hi: number): number {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : hi;
}

function positive(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : fallback;
}
