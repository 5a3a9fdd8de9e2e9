/**
 * Jobs in ComfyUI's shapes: queue items, history records and `/api/jobs` entries. Drop-in
 * submissions keep what ComfyUI would keep in `job.metadata.comfy`; native jobs get defaults.
 */
import path from 'node:path';
import type { Job, JobOutput } from '../../../jobs/index.js';
import type { PromptExtrasRecord, StatusMessage, TempOutput } from './prompt-extras.js';

/** What a drop-in submission records with its job (`job.metadata.comfy`). */
export interface ComfyMeta {
  prompt_id: string;
  client_id: string | null;
  number: number;
  extra_data: Record<string, unknown>;
  outputs_to_execute: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The drop-in record of a job, or undefined for jobs submitted another way. */
export function comfyMetaOf(job: Job): ComfyMeta | undefined {
  const m = job.metadata.comfy;
  if (!isObject(m)) return undefined;
  return {
    prompt_id: typeof m.prompt_id === 'string' ? m.prompt_id : job.id,
    client_id: typeof m.client_id === 'string' ? m.client_id : null,
    number: typeof m.number === 'number' ? m.number : job.seq,
    extra_data: isObject(m.extra_data) ? m.extra_data : {},
    outputs_to_execute: Array.isArray(m.outputs_to_execute)
      ? m.outputs_to_execute.filter((x): x is string => typeof x === 'string')
      : [],
  };
}

/** The prompt_id clients see for a job (the client's own, or the job id). */
export function promptIdOf(job: Job): string {
  return comfyMetaOf(job)?.prompt_id ?? job.id;
}

/** Where the gateway serves a job's output files: `/view?type=output&subfolder=jobs/<job id>[/<instance subfolder>]`. */
export const JOB_OUTPUT_FOLDER = 'jobs';

/** The gateway's name for an output file: `{filename, subfolder, type: 'output'}`. */
export function gatewayFileEntry(
  job: Job,
  o: JobOutput,
): { filename: string; subfolder: string; type: string } {
  const sub = (o.subfolder ?? '').replace(/^\/+|\/+$/g, '');
  return {
    filename: path.posix.basename(o.filename ?? `output-${o.index}`),
    subfolder: `${JOB_OUTPUT_FOLDER}/${job.id}${sub === '' ? '' : `/${sub}`}`,
    type: 'output',
  };
}

/**
 * An `executed` output of an instance with its files renamed to where the gateway serves them:
 * `jobs/<job id>/<instance subfolder>` (output files from the output store, temp files fetched
 * from the instance that ran the job); values are left as they are.
 */
export function gatewayOutputValue(jobId: string, output: unknown): unknown {
  if (!isObject(output)) return output;
  const out: Record<string, unknown> = {};
  for (const [key, list] of Object.entries(output)) {
    out[key] = Array.isArray(list)
      ? list.map((item) => {
          if (
            !isObject(item) ||
            (item.type !== 'output' && item.type !== 'temp') ||
            typeof item.filename !== 'string'
          ) {
            return item;
          }
          const sub = String(item.subfolder ?? '').replace(/^\/+|\/+$/g, '');
          return {
            ...item,
            filename: path.posix.basename(item.filename),
            subfolder: `${JOB_OUTPUT_FOLDER}/${jobId}${sub === '' ? '' : `/${sub}`}`,
          };
        })
      : list;
  }
  return out;
}

/** The gateway's name for a temp file of a job: `{filename, subfolder: jobs/<id>[/...], type: 'temp'}`. */
export function gatewayTempEntry(
  job: Job,
  t: TempOutput,
): { filename: string; subfolder: string; type: string } {
  const sub = t.subfolder.replace(/^\/+|\/+$/g, '');
  return {
    filename: path.posix.basename(t.filename),
    subfolder: `${JOB_OUTPUT_FOLDER}/${job.id}${sub === '' ? '' : `/${sub}`}`,
    type: 'temp',
  };
}

/**
 * `outputs` of a history record: node id → output key → list, files pointing at the gateway;
 * temp files (previews) after the outputs of their node, as ComfyUI lists them too.
 */
export function outputsDict(
  job: Job,
  outputs: readonly JobOutput[],
  temps: readonly TempOutput[] = [],
): Record<string, Record<string, unknown[]>> {
  const out: Record<string, Record<string, unknown[]>> = {};
  const sorted = [...outputs].sort((a, b) => a.index - b.index);
  for (const o of sorted) {
    const node = out[o.node_id] ?? {};
    out[o.node_id] = node;
    const list = node[o.output_key] ?? [];
    node[o.output_key] = list;
    if (o.kind === 'file') list.push(gatewayFileEntry(job, o));
    else if (Array.isArray(o.value)) list.push(...o.value);
    else list.push(o.value);
  }
  for (const t of temps) {
    const node = out[t.node_id] ?? {};
    out[t.node_id] = node;
    const list = node[t.output_key] ?? [];
    node[t.output_key] = list;
    list.push(gatewayTempEntry(job, t));
  }
  return out;
}

/** `[number, prompt_id, prompt, extra_data, outputs_to_execute]`. */
export function queueItem(job: Job): [number, string, unknown, unknown, string[]] {
  const meta = comfyMetaOf(job);
  return [
    meta?.number ?? job.seq,
    meta?.prompt_id ?? job.id,
    job.workflow,
    meta?.extra_data ?? {},
    meta?.outputs_to_execute ?? [],
  ];
}

/** `execution_error` data from a failed job. */
export function executionErrorData(job: Job): Record<string, unknown> {
  const details = job.error?.details ?? {};
  return {
    prompt_id: promptIdOf(job),
    node_id: job.error?.node_id ?? null,
    node_type: job.error?.node_class ?? null,
    executed: Array.isArray(details.executed) ? details.executed : [],
    exception_message: job.error?.exception_message ?? job.error?.message ?? 'job failed',
    exception_type: job.error?.exception_type ?? job.error?.code ?? 'Exception',
    traceback: Array.isArray(details.traceback) ? details.traceback : [],
    current_inputs: isObject(details.current_inputs) ? details.current_inputs : {},
    current_outputs: Array.isArray(details.current_outputs) ? details.current_outputs : [],
    timestamp: job.completed_at ?? job.updated_at,
  };
}

/** `execution_interrupted` data from a cancelled job. */
export function interruptedData(job: Job): Record<string, unknown> {
  return {
    prompt_id: promptIdOf(job),
    node_id: job.progress?.node ?? null,
    node_type: null,
    executed: [],
    timestamp: job.completed_at ?? job.updated_at,
  };
}

const FINAL_MESSAGE: Partial<Record<Job['status'], string>> = {
  completed: 'execution_success',
  failed: 'execution_error',
  cancelled: 'execution_interrupted',
};

/**
 * The status messages a finished job's history record carries: the instance's own (the cached
 * node list, the full error data) when they end the way the job ended, else made from the job.
 */
export function statusMessages(
  job: Job,
  instance: readonly StatusMessage[] | null = null,
): StatusMessage[] {
  const prompt_id = promptIdOf(job);
  const final = FINAL_MESSAGE[job.status];
  if (instance && instance.length > 0 && instance.at(-1)?.[0] === final) {
    return instance.map(([type, data]) => [type, { ...data, prompt_id }]);
  }
  const start = job.started_at ?? job.created_at;
  const messages: StatusMessage[] = [
    ['execution_start', { prompt_id, timestamp: start }],
    ['execution_cached', { nodes: [], prompt_id, timestamp: start }],
  ];
  const end = job.completed_at ?? job.updated_at;
  if (job.status === 'completed')
    messages.push(['execution_success', { prompt_id, timestamp: end }]);
  else if (job.status === 'failed') messages.push(['execution_error', executionErrorData(job)]);
  else if (job.status === 'cancelled')
    messages.push(['execution_interrupted', interruptedData(job)]);
  return messages;
}

/**
 * A finished job as ComfyUI's history record (`prompt`, `outputs`, `status`, `meta`).
 *
 * @example
 * historyRecord(job, await service.outputs(job.id)).status.status_str; // 'success'
 */
export function historyRecord(
  job: Job,
  outputs: readonly JobOutput[],
  extras: Partial<PromptExtrasRecord> = {},
): {
  prompt: unknown[];
  outputs: Record<string, Record<string, unknown[]>>;
  status: { status_str: string; completed: boolean; messages: unknown[] };
  meta: Record<string, unknown>;
} {
  const dict = outputsDict(job, outputs, extras.temps ?? []);
  const meta: Record<string, unknown> = {};
  for (const node of Object.keys(dict)) {
    meta[node] = { node_id: node, display_node: node, parent_node: null, real_node_id: node };
  }
  const ok = job.status === 'completed';
  return {
    prompt: queueItem(job),
    outputs: dict,
    status: {
      status_str: ok ? 'success' : 'error',
      completed: ok,
      messages: statusMessages(job, extras.messages ?? null),
    },
    meta,
  };
}

/** ComfyUI's `/api/jobs` status word for a job. */
export function apiJobStatus(job: Job): string {
  return job.status === 'processing' ? 'in_progress' : job.status;
}

const PREVIEWABLE = /^(image|video|audio)\//;

const PREVIEWABLE_KEYS = new Set(['images', 'video', 'audio']);

/**
 * A job in `/api/jobs` shape (null fields left out, as ComfyUI does; `outputs_count` always, 0
 * included). Temp files count as outputs there, as in ComfyUI's history; the preview prefers an
 * output file to a temp one.
 */
export function apiJob(
  job: Job,
  outputs: readonly JobOutput[] = [],
  extras: Partial<PromptExtrasRecord> = {},
): Record<string, unknown> {
  const temps = extras.temps ?? [];
  const meta = comfyMetaOf(job);
  const out: Record<string, unknown> = {
    id: promptIdOf(job),
    status: apiJobStatus(job),
    priority: meta?.number ?? job.seq,
    create_time: job.created_at,
  };
  if (job.started_at !== null) out.execution_start_time = job.started_at;
  if (job.completed_at !== null && job.started_at !== null)
    out.execution_end_time = job.completed_at;
  if (job.status === 'failed') {
    const own = statusMessages(job, extras.messages ?? null).at(-1);
    out.execution_error = own?.[0] === 'execution_error' ? own[1] : executionErrorData(job);
  }
  out.outputs_count = outputs.length + temps.length;
  if (outputs.length + temps.length > 0) {
    const previewable = outputs.filter((o) => o.kind === 'file' && PREVIEWABLE.test(o.mime ?? ''));
    const previewTemps = temps.filter((t) => PREVIEWABLE_KEYS.has(t.output_key));
    out.previewable_outputs_count = previewable.length + previewTemps.length;
    const first = previewable[0];
    const firstTemp = previewTemps[0];
    if (first) {
      out.preview_output = {
        ...gatewayFileEntry(job, first),
        nodeId: first.node_id,
        mediaType: first.output_key,
      };
    } else if (firstTemp) {
      out.preview_output = {
        ...gatewayTempEntry(job, firstTemp),
        nodeId: firstTemp.node_id,
        mediaType: firstTemp.output_key,
      };
    }
  }
  const workflow = meta?.extra_data.extra_pnginfo;
  if (isObject(workflow) && isObject(workflow.workflow) && typeof workflow.workflow.id === 'string')
    out.workflow_id = workflow.workflow.id;
  return out;
}
