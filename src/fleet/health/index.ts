/**
 * Health of the fleet's instances: test connection, the fleet-wide health monitor with circuit
 * breakers, figures, capabilities cache, health history and alerts.
 */
export { AlertManager, type AlertManagerOptions } from './alert-manager.js';
export { fetchCapabilities, type InstanceCapabilities } from './capabilities.js';
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitTransition,
} from './circuit-breaker.js';
export {
  type ConnectionTestOptions,
  type ConnectionTestReport,
  clientForConnection,
  connectionTester,
  deviceSummaries,
  type InstanceClientOptions,
  testConnection,
} from './connection-test.js';
export {
  type ClassifiedFailure,
  classifyFailure,
  countsAgainstInstance,
} from './failure-kind.js';
export { ALERT_KINDS, type AlertKind, type AlertView, type HealthEvents } from './health-events.js';
export {
  HealthMonitor,
  type HistoryRange,
  type InstanceConnectionHandle,
  isMonitored,
} from './health-monitor.js';
export type { HealthReason, HealthReasonCode, InstanceHealthReport } from './health-report.js';
export {
  type AlertCondition,
  type AlertConditions,
  type AlertInputs,
  alertConditions,
  type DegradedInputs,
  degradedReasons,
} from './health-rules.js';
export { type JobResult, JobStats, type JobStatsView, type JobStatsWindows } from './job-stats.js';
export {
  type AlertThresholds,
  type DegradedThresholds,
  type EventStreamOptions,
  type HealthLogger,
  type HealthMonitorOptions,
  type HealthStore,
  type MonitoredFleet,
  type ResolvedMonitorOptions,
  resolveMonitorOptions,
  type WebhookOptions,
} from './monitor-options.js';
export {
  type WebhookCounters,
  WebhookSender,
  type WebhookSenderOptions,
} from './webhook-sender.js';
