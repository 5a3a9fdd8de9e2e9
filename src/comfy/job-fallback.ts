/**
 * Jobs-API records (/api/jobs/{id}) rebuilt from /queue and /history, for servers that predate
 * the jobs routes. Same field names and null-omission as ComfyUI's own normalisation.
 */
import { outcomeOfHistory } from './prompt-state.js';
import type {
  ComfyJobDetail,
  ComfyJobStatus,
  HistoryRecord,
  JsonObject,
  JsonValue,
  QueueItem,
} from './protocol.js';

function workflowId(extra: JsonObject | undefined): string | undefined {
  const info = extra?.extra_pnginfo;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) return undefined;
  const workflow = info.workflow;
  if (typeof workflow !== 'object' || workflow === null || Array.isArray(workflow))
    return undefined;
  return typeof workflow.id === 'string' ? workflow.id : undefined;
}

function countOutputs(outputs: Record<string, Record<string, JsonValue[]>>): number {
  let count = 0;
  for (const node of Object.values(outputs)) {
    for (const list of Object.values(node)) {
      if (Array.isArray(list)) {
        count += list.filter((item) => typeof item === 'object' && item !== null).length;
      }
    }
  }
  return count;
}

/**
 * A pending or running queue item as a jobs-API record.
 *
 * @example
 * const job = jobFromQueueItem(queue.queue_running[0], 'in_progress');
 */
export function jobFromQueueItem(
  item: QueueItem,
  status: 'pending' | 'in_progress',
): ComfyJobDetail {
  const [priority, id, prompt, extra] = item;
  const job: ComfyJobDetail = { id, status, priority, outputs_count: 0 };
  if (typeof extra?.create_time === 'number') job.create_time = extra.create_time;
  const wf = workflowId(extra);
  if (wf !== undefined) job.workflow_id = wf;
  job.workflow = { prompt, extra_data: extra ?? {} };
  return job;
}

/**
 * A history record as a jobs-API record.
 *
 * @example
 * const job = jobFromHistory(id, history[id]);
 */
export function jobFromHistory(id: string, record: HistoryRecord): ComfyJobDetail {
  const { outcome, error } = outcomeOfHistory(record);
  const status: ComfyJobStatus =
    outcome === 'success' ? 'completed' : outcome === 'interrupted' ? 'cancelled' : 'failed';
  const item: QueueItem = Array.isArray(record.prompt) ? record.prompt : [0, id, {}, {}, []];
  const [priority, , prompt, extra] = item;
  const job: ComfyJobDetail = {
    id,
    status,
    priority: typeof priority === 'number' ? priority : 0,
    outputs_count: countOutputs(record.outputs ?? {}),
    outputs: record.outputs ?? {},
    execution_status: record.status,
    workflow: { prompt, extra_data: extra ?? {} },
  };
  if (typeof extra?.create_time === 'number') job.create_time = extra.create_time;
  const wf = workflowId(extra);
  if (wf !== undefined) job.workflow_id = wf;
  const messages = Array.isArray(record.status?.messages) ? record.status.messages : [];
  for (const [type, data] of messages) {
    const ts = typeof data?.timestamp === 'number' ? data.timestamp : undefined;
    if (ts === undefined) continue;
    if (type === 'execution_start') job.execution_start_time = ts;
    if (
      type === 'execution_success' ||
      type === 'execution_error' ||
      type === 'execution_interrupted'
    ) {
      job.execution_end_time = ts;
    }
  }
  if (error) job.execution_error = error;
  return job;
}
