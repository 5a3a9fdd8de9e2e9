import type { HealthMonitor } from '../../../fleet/health/index.js';
import type { InstanceRegistry } from '../../../fleet/index.js';
import {
  createJobServices,
  installTemplates,
  type Job,
  type JobServices,
  runRetention,
  type TemplateInstallReport,
} from '../../../jobs/index.js';
import {
  Dispatcher,
  type JobEvents,
  JobService,
  type RunnerOptions,
} from '../../../scheduler/dispatch/index.js';
import { type EventBus, InProcessEventBus, type Store } from '../../../store/index.js';
import { loadWebhookSecret } from '../../webhooks/webhook-secret.js';
import { WebhookSender } from '../../webhooks/webhook-sender.js';
import { jobView, outputView } from './job-view.js';

/** Job event types the API's event streams carry. */
export const JOB_EVENT_TYPES = [
  'job.created',
  'job.status',
  'job.progress',
  'job.completed',
  'job.failed',
  'job.cancelled',
] as const;

/** What {@link openJobLayer} needs. */
export interface JobLayerOptions {
  store: Store;
  registry: InstanceRegistry;
  monitor: HealthMonitor;
  /** The bus the API's event hub listens to: job events are forwarded there as API views. */
  bus: EventBus<Record<string, unknown>>;
  dataDir: string;
  /** Template files (one JSON each); built-ins are always installed. */
  templatesDir?: string;
  /** Default `timeout_ms` of a job. */
  jobTimeoutMs?: number;
  /** Days finished jobs are kept (default 7); retention runs hourly. */
  retentionDays?: number;
  retentionIntervalMs?: number;
  /** Re-attach jobs left processing (default true). */
  recover?: boolean;
  /** Jobs on instances at once across the fleet (MAX_CONCURRENT_JOBS); 0 or absent: no cap. */
  maxConcurrentJobs?: number;
  /** Runner timings: stall timeout, polling (tests shorten them). */
  runner?: RunnerOptions;
  /** Webhook signing secret (default: `<data dir>/webhook_secret`, created once). */
  webhookSecret?: string;
  /** Webhook retry timing (tests). */
  webhooks?: {
    baseDelayMs?: number;
    maxDelayMs?: number;
    maxAttempts?: number;
    timeoutMs?: number;
  };
}

/** The running job layer. */
export interface JobLayer {
  services: JobServices;
  dispatcher: Dispatcher;
  service: JobService;
  /** Job events as the dispatcher publishes them (stored job, ms times). */
  jobBus: InProcessEventBus<JobEvents>;
  templates: TemplateInstallReport;
  /** Signed job webhooks. */
  webhooks: WebhookSender;
  /** Stops retention and the dispatcher (jobs on instances stay processing for the next start). */
  close(): Promise<void>;
}

/**
 * Opens the job layer over an open store and fleet: job services, templates (built-ins and the
 * folder), the dispatcher (crash recovery, queue rebuilt) and the job service, job events
 * forwarded to the API bus with ISO times, and a retention timer.
 *
 * @example
 * const layer = await openJobLayer({ store, registry, monitor, bus, dataDir });
 * await app.register(jobsRoutes, { layer });
 * await layer.close();
 */
export async function openJobLayer(options: JobLayerOptions): Promise<JobLayer> {
  const services = createJobServices(options.store, { dataDir: options.dataDir });
  const templates = await installTemplates(services.templates, {
    ...(options.templatesDir ? { folder: options.templatesDir } : {}),
  });
  const jobBus = new InProcessEventBus<JobEvents>();
  const forward = (type: string, payload: Record<string, unknown>) => {
    const job = payload.job as Job | undefined;
    const out: Record<string, unknown> = { ...payload };
    if (job) out.job = jobView(job);
    if (job && Array.isArray(payload.outputs)) {
      out.outputs = (payload.outputs as JobEvents['job.completed']['outputs']).map((o) =>
        outputView(job.id, o),
      );
    }
    options.bus.publish(type, out);
  };
  const offs = JOB_EVENT_TYPES.map((t) =>
    jobBus.subscribe(t, (p) => forward(t, p as unknown as Record<string, unknown>)),
  );
  const dispatcher = new Dispatcher({
    ...services,
    registry: options.registry,
    monitor: options.monitor,
    bus: jobBus,
    recover: options.recover ?? true,
    scheduler: { max_concurrent_jobs: options.maxConcurrentJobs || null },
    ...(options.runner ? { runner: options.runner } : {}),
  });
  const service = new JobService({
    services,
    dispatcher,
    bus: jobBus,
    ...(options.jobTimeoutMs === undefined
      ? {}
      : { defaults: { timeout_ms: options.jobTimeoutMs } }),
  });
  const webhooks = new WebhookSender({
    jobs: services.jobs,
    bus: jobBus,
    secret: await loadWebhookSecret(options.dataDir, options.webhookSecret),
    ...options.webhooks,
  });
  await dispatcher.start();
  await webhooks.resume().catch(() => 0);
  const retain = () =>
    runRetention({
      ...services,
      ...(options.retentionDays === undefined ? {} : { retentionDays: options.retentionDays }),
    }).catch(() => undefined);
  const timer = setInterval(retain, options.retentionIntervalMs ?? 3_600_000);
  timer.unref();
  let closed: Promise<void> | undefined;
  return {
    services,
    dispatcher,
    service,
    jobBus,
    templates,
    webhooks,
    close: () => {
      closed ??= (async () => {
        clearInterval(timer);
        for (const off of offs) off();
        service.close();
        await dispatcher.stop();
        await webhooks.close();
      })();
      return closed;
    },
  };
}
