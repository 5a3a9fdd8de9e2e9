/** ComfyUI's jobs API: GET /api/jobs, GET /api/jobs/{job_id} and the cancel routes. */
import type { AppContext } from '../app-context.js';
import { parseJsonBody } from '../http/body.js';
import { sendJson } from '../http/reply.js';
import type { Router } from '../http/router.js';
import { historyJob, JOB_STATUSES, type Job, queueJob, sortJobs } from '../jobs.js';
import { pyJson } from '../py-json.js';

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function error(message: string): string {
  return pyJson({ error: message });
}

function parseIntStrict(text: string): number | undefined {
  return /^\s*[+-]?\d+\s*$/.test(text) ? Number(text.trim()) : undefined;
}

/**
 * @example
 * registerJobsRoutes(router, app);
 */
export function registerJobsRoutes(router: Router, app: AppContext): void {
  router.add('GET', '/api/jobs', ({ res, query }) => {
    const statusParam = query.get('status');
    let statusFilter: string[] = [...JOB_STATUSES];
    if (statusParam !== null && statusParam !== '') {
      statusFilter = statusParam
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== '');
      const invalid = statusFilter.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
      if (invalid.length > 0) {
        return sendJson(
          res,
          400,
          error(
            `Invalid status value(s): ${invalid.join(', ')}. Valid values: ${JOB_STATUSES.join(', ')}`,
          ),
        );
      }
    }
    const sortBy = (query.get('sort_by') ?? 'created_at').toLowerCase();
    const sortOrder = (query.get('sort_order') ?? 'desc').toLowerCase();
    if (sortBy !== 'created_at' && sortBy !== 'execution_duration') {
      return sendJson(res, 400, error("sort_by must be 'created_at' or 'execution_duration'"));
    }
    if (sortOrder !== 'asc' && sortOrder !== 'desc') {
      return sendJson(res, 400, error("sort_order must be 'asc' or 'desc'"));
    }
    let limit: number | null = null;
    const limitText = query.get('limit');
    if (limitText !== null) {
      const parsed = parseIntStrict(limitText);
      if (parsed === undefined) return sendJson(res, 400, error('limit must be an integer'));
      if (parsed <= 0) return sendJson(res, 400, error('limit must be a positive integer'));
      limit = parsed;
    }
    let offset = 0;
    const offsetText = query.get('offset');
    if (offsetText !== null) {
      const parsed = parseIntStrict(offsetText);
      if (parsed === undefined) return sendJson(res, 400, error('offset must be an integer'));
      offset = Math.max(0, parsed);
    }
    let jobs: Job[] = [];
    if (statusFilter.includes('in_progress')) {
      for (const entry of app.queue.runningEntries()) jobs.push(queueJob(entry, 'in_progress'));
    }
    if (statusFilter.includes('pending')) {
      for (const entry of app.queue.pendingEntries()) jobs.push(queueJob(entry, 'pending'));
    }
    if (statusFilter.includes('completed') || statusFilter.includes('failed')) {
      for (const record of app.queue.allHistory()) {
        const job = historyJob(record, false);
        if (statusFilter.includes(job.status as string)) jobs.push(job);
      }
    }
    const workflowId = query.get('workflow_id');
    if (workflowId !== null && workflowId !== '') {
      jobs = jobs.filter((job) => job.workflow_id === workflowId);
    }
    jobs = sortJobs(jobs, sortBy, sortOrder);
    const total = jobs.length;
    if (offset > 0) jobs = jobs.slice(offset);
    if (limit !== null) jobs = jobs.slice(0, limit);
    sendJson(
      res,
      200,
      pyJson({
        jobs,
        pagination: { offset, limit, total, has_more: offset + jobs.length < total },
      }),
    );
  });

  router.add('GET', '/api/jobs/{job_id}', ({ res, params }) => {
    const id = params.job_id ?? '';
    const job = findJob(app, id);
    if (job === undefined) return sendJson(res, 404, error('Job not found'));
    sendJson(res, 200, pyJson(job));
  });

  router.add('POST', '/api/jobs/{job_id}/cancel', ({ res, params }) => {
    sendJson(res, 200, pyJson({ cancelled: cancel(app, params.job_id ?? '') }));
  });

  router.add('POST', '/api/jobs/cancel', async ({ res, body }) => {
    let data: unknown;
    try {
      data = parseJsonBody(await body());
    } catch (err) {
      if (err instanceof SyntaxError || err instanceof TypeError) {
        return sendJson(res, 400, error('Invalid JSON body'));
      }
      throw err;
    }
    const ids =
      typeof data === 'object' && data !== null && !Array.isArray(data)
        ? (data as Record<string, unknown>).job_ids
        : undefined;
    if (!Array.isArray(ids)) return sendJson(res, 400, error('job_ids must be a list'));
    const invalid = ids.filter((id) => typeof id !== 'string' || !CANONICAL_UUID.test(id));
    if (invalid.length > 0) {
      return sendJson(
        res,
        400,
        pyJson({ error: 'Invalid job id(s): must be canonical UUIDs', invalid_ids: invalid }),
      );
    }
    let cancelled = false;
    for (const id of ids as string[]) if (cancel(app, id)) cancelled = true;
    sendJson(res, 200, pyJson({ cancelled }));
  });
}

function findJob(app: AppContext, id: string): Job | undefined {
  const record = app.queue.historyEntry(id);
  if (record !== undefined) return historyJob(record, true);
  for (const entry of app.queue.runningEntries()) {
    if (entry.promptId === id) return queueJob(entry, 'in_progress');
  }
  for (const entry of app.queue.pendingEntries()) {
    if (entry.promptId === id) return queueJob(entry, 'pending');
  }
  return undefined;
}

/** Interrupts the job if it runs, removes it if it waits; false when neither. */
function cancel(app: AppContext, id: string): boolean {
  if (app.queue.isRunning(id)) {
    app.executor.interrupt();
    return true;
  }
  return app.queue.deleteQueueItem((entry) => entry.promptId === id);
}
