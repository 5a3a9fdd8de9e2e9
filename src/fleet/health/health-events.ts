import type { CircuitState, InstanceHealth } from '../health-types.js';
import type { InstanceHealthReport } from './health-report.js';

/** Alert kinds (seed 002: unhealthy, >5 job errors a minute, >90 % VRAM/RAM, checks >30 s). */
export const ALERT_KINDS = [
  'unhealthy',
  'job_errors',
  'vram_high',
  'ram_high',
  'slow_check',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** An alert as the API and the webhook show it; open while `cleared_at` is null. */
export interface AlertView {
  /** Store id; null when the monitor runs without a store. */
  id: number | null;
  instance_id: string;
  kind: AlertKind;
  reason: string;
  value: number | null;
  raised_at: string;
  cleared_at: string | null;
}

/**
 * Events the health monitor publishes. Payloads are JSON-serialisable and carry no secrets.
 * Meant to travel on the same bus as `FleetEvents` (`EventBus<FleetEvents & HealthEvents>`).
 */
export type HealthEvents = {
  /** Health, circuit or reasons changed (also to `unknown` when monitoring stops). */
  'instance.health': {
    id: string;
    health: InstanceHealth;
    previous: InstanceHealth;
    circuit: CircuitState;
    reasons: string[];
    report: InstanceHealthReport | null;
  };
  /** Node classes and model lists were (re)fetched. Counts only; read the rest on demand. */
  'instance.capabilities': {
    id: string;
    fetched_at: string;
    node_classes: number;
    models: Record<string, number>;
  };
  'alert.raised': { alert: AlertView };
  'alert.cleared': { alert: AlertView };
};
