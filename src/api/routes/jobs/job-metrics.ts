import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { JOB_STATUSES, type Job } from '../../../jobs/index.js';
import type { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import type { JobLayer } from './job-layer.js';

const SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * Registers the job layer's Prometheus metrics on the app's registry — jobs by status, queue
 * depth, in-flight, wait and run time histograms, dispatch requeues — and feeds the seed's JSON
 * figures (jobsProcessed, avgProcessingTime, errorRate) from finished jobs. Returns the
 * function that stops listening.
 *
 * @example
 * const off = registerJobMetrics(app.api.metrics, layer);
 */
export function registerJobMetrics(metrics: GatewayMetrics, layer: JobLayer): () => void {
  const registers: Registry[] = [metrics.registry];
  const { dispatcher, services, jobBus } = layer;
  new Gauge({
    name: 'comfy_cluster_jobs',
    help: 'Jobs in the store, by status',
    labelNames: ['status'],
    registers,
    async collect() {
      const counts = await services.jobs.countByStatus();
      for (const s of JOB_STATUSES) this.set({ status: s }, counts[s] ?? 0);
    },
  });
  new Gauge({
    name: 'comfy_cluster_queue_depth',
    help: 'Jobs waiting in the gateway for an instance',
    registers,
    collect() {
      this.set(dispatcher.counters().waiting);
    },
  });
  new Gauge({
    name: 'comfy_cluster_jobs_in_flight',
    help: 'Jobs placed on instances now (uploading, queued there, running, collecting)',
    registers,
    collect() {
      this.set(dispatcher.counters().running);
    },
  });
  let requeued = 0;
  new Counter({
    name: 'comfy_cluster_dispatch_errors_total',
    help: 'Attempts given back to the queue after an instance failed (unreachable, lost, OOM, stalled)',
    registers,
    collect() {
      const now = dispatcher.counters().requeued;
      if (now > requeued) this.inc(now - requeued);
      requeued = now;
    },
  });
  const finished = new Counter({
    name: 'comfy_cluster_jobs_finished_total',
    help: 'Jobs finished since start, by status',
    labelNames: ['status'],
    registers,
  });
  const wait = new Histogram({
    name: 'comfy_cluster_job_wait_seconds',
    help: 'Time from queued to placed on an instance, of finished jobs',
    buckets: SECONDS,
    registers,
  });
  const run = new Histogram({
    name: 'comfy_cluster_job_run_seconds',
    help: 'Time from placed to finished, of finished jobs',
    buckets: SECONDS,
    registers,
  });
  const totals = { processed: 0, failed: 0, total_processing_ms: 0 };
  metrics.setJobTotals(() => ({ ...totals }));
  const onFinish = ({ job }: { job: Job }) => {
    finished.inc({ status: job.status });
    if (job.started_at !== null) {
      wait.observe(Math.max(0, job.started_at - job.queued_at) / 1000);
      if (job.completed_at !== null)
        run.observe(Math.max(0, job.completed_at - job.started_at) / 1000);
    }
    if (job.status === 'cancelled') return;
    totals.processed++;
    totals.total_processing_ms += job.processing_time_ms ?? 0;
    if (job.status === 'failed') totals.failed++;
  };
  const offs = [
    jobBus.subscribe('job.completed', onFinish),
    jobBus.subscribe('job.failed', onFinish),
    jobBus.subscribe('job.cancelled', onFinish),
  ];
  return () => {
    for (const off of offs) off();
  };
}
