import type { DeviceSummary } from '../health-types.js';
import type { AlertKind } from './health-events.js';
import type { HealthReason } from './health-report.js';
import type { AlertThresholds, DegradedThresholds } from './monitor-options.js';

/** What `degraded` is decided from. */
export interface DegradedInputs {
  /** Moving average of the check response time, ms. */
  avgResponseMs: number | null;
  devices: readonly DeviceSummary[];
  jobFailure: { rate: number; jobs: number } | null;
}

const percent = (r: number) => `${Math.round(r * 1000) / 10} %`;
const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

/**
 * Why an answering instance is degraded (empty: it is healthy). Each reason is named and carries
 * its figure and threshold.
 *
 * @example
 * degradedReasons({ avgResponseMs: 7200, devices: [], jobFailure: null }, thresholds);
 * // [{ code: 'slow_response', message: 'answers in 7200 ms on average (threshold 5000 ms)', ... }]
 */
export function degradedReasons(input: DegradedInputs, t: DegradedThresholds): HealthReason[] {
  const reasons: HealthReason[] = [];
  if (input.avgResponseMs !== null && input.avgResponseMs > t.slowResponseMs) {
    const ms = Math.round(input.avgResponseMs);
    reasons.push({
      code: 'slow_response',
      message: `slow_response: answers in ${ms} ms on average (threshold ${t.slowResponseMs} ms)`,
      value: ms,
      threshold: t.slowResponseMs,
    });
  }
  let worst: DeviceSummary | undefined;
  let worstRatio = Number.POSITIVE_INFINITY;
  for (const d of input.devices) {
    if (d.vram_total <= 0) continue;
    const free = d.vram_free / d.vram_total;
    if (free < worstRatio) {
      worstRatio = free;
      worst = d;
    }
  }
  if (worst && worstRatio < t.minVramFreeRatio) {
    reasons.push({
      code: 'low_vram',
      message: `low_vram: ${mib(worst.vram_free)} of ${mib(worst.vram_total)} VRAM free on ${worst.name} (${percent(worstRatio)}, threshold ${percent(t.minVramFreeRatio)})`,
      value: worstRatio,
      threshold: t.minVramFreeRatio,
    });
  }
  if (input.jobFailure && input.jobFailure.rate >= t.jobFailureRate) {
    const { rate, jobs } = input.jobFailure;
    reasons.push({
      code: 'job_failure_rate',
      message: `job_failure_rate: ${Math.round(rate * jobs)} of the last ${jobs} jobs failed (${percent(rate)}, threshold ${percent(t.jobFailureRate)})`,
      value: rate,
      threshold: t.jobFailureRate,
    });
  }
  return reasons;
}

/** An alert condition that holds now: why, and the figure. */
export interface AlertCondition {
  reason: string;
  value: number | null;
}

/**
 * Per alert kind: a condition (raise it), `null` (the condition ended: clear it) or absent (no
 * new information: leave it as it is).
 */
export type AlertConditions = Partial<Record<AlertKind, AlertCondition | null>>;

/** What alerts are decided from; leave out what the current event says nothing about. */
export interface AlertInputs {
  circuit?: { open: boolean; consecutiveFailures: number; lastError: string | null };
  /** The check that just finished: how long it took and whether it timed out. */
  check?: { ms: number; timedOut: boolean };
  /** From a successful check. */
  devices?: readonly DeviceSummary[];
  ram?: { total: number; free: number } | null;
  /** Job errors within the alert window. */
  jobErrors?: number;
}

/**
 * The alert conditions for what is known now.
 *
 * @example
 * alertConditions({ jobErrors: 7 }, thresholds).job_errors; // { reason: '7 job errors in 60 s ...', value: 7 }
 */
export function alertConditions(input: AlertInputs, t: AlertThresholds): AlertConditions {
  const out: AlertConditions = {};
  if (input.circuit) {
    const c = input.circuit;
    out.unhealthy = c.open
      ? {
          reason: `circuit open after ${c.consecutiveFailures} consecutive failures${c.lastError ? `: ${c.lastError}` : ''}`,
          value: c.consecutiveFailures,
        }
      : null;
  }
  if (input.check) {
    const ms = Math.round(input.check.ms);
    out.slow_check =
      ms > t.slowCheckMs
        ? {
            reason: `health check ${input.check.timedOut ? 'timed out after' : 'took'} ${ms} ms (threshold ${t.slowCheckMs} ms)`,
            value: ms,
          }
        : null;
  }
  if (input.devices) {
    let worst: DeviceSummary | undefined;
    let worstUse = -1;
    for (const d of input.devices) {
      if (d.vram_total <= 0) continue;
      const use = 1 - d.vram_free / d.vram_total;
      if (use > worstUse) {
        worstUse = use;
        worst = d;
      }
    }
    out.vram_high =
      worst && worstUse > t.vramUseRatio
        ? {
            reason: `VRAM ${percent(worstUse)} used on ${worst.name} (threshold ${percent(t.vramUseRatio)})`,
            value: Math.round(worstUse * 1000) / 10,
          }
        : null;
  }
  if (input.ram !== undefined) {
    const ram = input.ram;
    const use = ram && ram.total > 0 ? 1 - ram.free / ram.total : null;
    out.ram_high =
      use !== null && use > t.ramUseRatio
        ? {
            reason: `RAM ${percent(use)} used (threshold ${percent(t.ramUseRatio)})`,
            value: Math.round(use * 1000) / 10,
          }
        : null;
  }
  if (input.jobErrors !== undefined) {
    out.job_errors =
      input.jobErrors > t.jobErrors
        ? {
            reason: `${input.jobErrors} job errors in the last ${Math.round(t.jobErrorWindowMs / 1000)} s (threshold ${t.jobErrors})`,
            value: input.jobErrors,
          }
        : null;
  }
  return out;
}
