/**
 * ComfyUI 0.8.0's /api/jobs model: queue and history items in one shape (keys whose value would be
 * None are left out), an interrupted prompt counts as `failed`, newest first by create_time.
 */
import type { JsonObject, JsonValue, NodeOutput } from '../comfy/protocol.js';
import type { HistoryEntry, QueueEntry } from './prompt-queue.js';
import { PyFloat, RawJson } from './py-json.js';

/** Job statuses ComfyUI 0.8.0 knows (an interrupted prompt is `failed`). */
export const JOB_STATUSES = ['pending', 'in_progress', 'completed', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const PREVIEWABLE = new Set(['images', 'video', 'audio', '3d']);
const THREE_D = ['.obj', '.fbx', '.gltf', '.glb', '.usdz'];

export type Job = Record<string, unknown>;

function prune(job: Record<string, unknown>): Job {
  for (const key of Object.keys(job))
    if (job[key] === undefined || job[key] === null) delete job[key];
  return job;
}

function metadata(extraData: JsonObject): { createTime: unknown; workflowId: unknown } {
  const pnginfo = extraData.extra_pnginfo;
  const workflow =
    typeof pnginfo === 'object' && pnginfo !== null && !Array.isArray(pnginfo)
      ? pnginfo.workflow
      : undefined;
  const workflowId =
    typeof workflow === 'object' && workflow !== null && !Array.isArray(workflow)
      ? workflow.id
      : undefined;
  return { createTime: extraData.create_time, workflowId };
}

function priority(entry: QueueEntry): number | PyFloat {
  return entry.numberIsFloat ? new PyFloat(entry.number) : entry.number;
}

/** A queued or running prompt as a job. */
export function queueJob(entry: QueueEntry, status: JobStatus): Job {
  const { createTime, workflowId } = metadata(entry.extraData);
  return prune({
    id: entry.promptId,
    status,
    priority: priority(entry),
    create_time: createTime,
    outputs_count: 0,
    workflow_id: workflowId,
  });
}

function isPreviewable(mediaType: string, item: Record<string, JsonValue>): boolean {
  if (PREVIEWABLE.has(mediaType)) return true;
  const format = item.format;
  if (typeof format === 'string' && (format.startsWith('video/') || format.startsWith('audio/'))) {
    return true;
  }
  const filename = typeof item.filename === 'string' ? item.filename.toLowerCase() : '';
  return THREE_D.some((ext) => filename.endsWith(ext));
}

function outputsSummary(outputs: Record<string, NodeOutput>): { count: number; preview?: Job } {
  let count = 0;
  let preview: Job | undefined;
  let fallback: Job | undefined;
  for (const [nodeId, nodeOutputs] of Object.entries(outputs)) {
    for (const [mediaType, items] of Object.entries(nodeOutputs)) {
      if (mediaType === 'animated' || !Array.isArray(items)) continue;
      for (const item of items) {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
        count++;
        if (preview !== undefined || !isPreviewable(mediaType, item)) continue;
        const enriched: Job = { ...item, nodeId };
        if (!('mediaType' in item)) enriched.mediaType = mediaType;
        if (item.type === 'output') preview = enriched;
        else fallback ??= enriched;
      }
    }
  }
  const summary: { count: number; preview?: Job } = { count };
  const chosen = preview ?? fallback;
  if (chosen !== undefined) summary.preview = chosen;
  return summary;
}

/** A history record as a job; with details for /api/jobs/{id}. */
export function historyJob(record: HistoryEntry, details: boolean): Job {
  const entry = record.entry;
  const { createTime, workflowId } = metadata(entry.extraData);
  let start: unknown;
  let end: unknown;
  let error: unknown;
  for (const [event, data] of record.status.messages) {
    if (event === 'execution_start') start = data.timestamp;
    else if (
      event === 'execution_success' ||
      event === 'execution_error' ||
      event === 'execution_interrupted'
    ) {
      end = data.timestamp;
      if (event === 'execution_error') error = data;
    }
  }
  const { count, preview } = outputsSummary(record.outputs);
  const job = prune({
    id: entry.promptId,
    status: record.status.status_str === 'error' ? 'failed' : 'completed',
    priority: priority(entry),
    create_time: createTime,
    execution_start_time: start,
    execution_end_time: end,
    execution_error: error,
    outputs_count: count,
    preview_output: preview,
    workflow_id: workflowId,
  });
  if (details) {
    job.outputs = record.outputs;
    job.execution_status = record.status;
    job.workflow = { prompt: new RawJson(entry.promptJson()), extra_data: entry.extraData };
  }
  return job;
}

/** Sorts like Python's stable sorted(..., reverse=desc). */
export function sortJobs(jobs: Job[], sortBy: string, order: string): Job[] {
  const key =
    sortBy === 'execution_duration'
      ? (job: Job) => {
          const start = Number(job.execution_start_time ?? 0);
          const end = Number(job.execution_end_time ?? 0);
          return start && end ? end - start : 0;
        }
      : (job: Job) => Number(job.create_time ?? 0);
  // Python's sorted(reverse=True) keeps equal keys in their original order, as does this.
  const desc = order === 'desc';
  return [...jobs].sort((a, b) => (desc ? key(b) - key(a) : key(a) - key(b)));
}
