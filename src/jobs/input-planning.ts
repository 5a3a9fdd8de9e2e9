import type { ApiPrompt, ComfyClient } from '../comfy/index.js';
import { type PathMapping, toRemotePath } from '../fleet/index.js';
import type { InputRepository, UploadedInput } from './input-repository.js';
import type { InputStore } from './input-store.js';
import type { JobInputRecord } from './job-repository.js';
import { extensionForMime } from './mime-sniff.js';

/**
 * The subfolder of each instance's input folder the gateway uploads into, so its files never
 * collide with files other clients upload (comfyui-api.md §7.5).
 */
export const GATEWAY_INPUT_SUBFOLDER = 'comfy-cluster';

/** One input to send to the instance with POST /upload/image. */
export interface PlannedUpload {
  hash: string;
  /** `<sha256>.<ext>`: content-addressed, so a re-upload of the same bytes is a no-op. */
  filename: string;
  subfolder: string;
  mime: string;
  size: number;
}

/** The instance as planning needs it. */
export interface InputPlanInstance {
  id: string;
  path_map?: readonly PathMapping[];
}

/** The job as planning needs it: its workflow and its input bindings (`JobRepository.inputs`). */
export interface InputPlanJob {
  workflow: Record<string, unknown>;
  inputs: readonly JobInputRecord[];
}

/** What to upload before dispatch, and the workflow to send. */
export interface InputPlan {
  /** Inputs the instance does not have yet (one entry per hash). */
  uploads: PlannedUpload[];
  /** Inputs it already has, by hash. */
  reused: Map<string, UploadedInput>;
  /** The workflow with path_map applied and each bound input set to its planned upload name. */
  workflow: ApiPrompt;
  /** The same with the names the instance actually answered (it may rename an upload). */
  rewrite(uploaded: ReadonlyMap<string, UploadedInput>): ApiPrompt;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The name an input is uploaded under: its hash plus an extension from its type (or its
 * original name).
 *
 * @example
 * uploadFileName('ab12…', 'image/png', 'photo.PNG'); // 'ab12….png'
 */
export function uploadFileName(hash: string, mime: string, originalName = ''): string {
  const fromName = /\.([A-Za-z0-9]{1,8})$/.exec(originalName)?.[1]?.toLowerCase();
  const ext = extensionForMime(mime) ?? fromName ?? 'bin';
  return `${hash}.${ext}`;
}

/**
 * What LoadImage is given for an uploaded input: `subfolder/name`, or `name` at the top.
 *
 * @example
 * uploadedReference({ name: 'ab12.png', subfolder: 'comfy-cluster' }); // 'comfy-cluster/ab12.png'
 */
export function uploadedReference(u: UploadedInput): string {
  return u.subfolder ? `${u.subfolder}/${u.name}` : u.name;
}

/**
 * Applies an instance's `path_map` to every string input of a workflow (links and other values
 * are kept), turning client-side paths into the instance's own (longest matching prefix).
 * Returns a new workflow.
 *
 * @example
 * applyPathMap(workflow, [{ local: 'U:/', remote: '/mnt/projects/' }]);
 * // an input 'U:/shots/a.exr' becomes '/mnt/projects/shots/a.exr'
 */
export function applyPathMap(
  workflow: Record<string, unknown>,
  pathMap: readonly PathMapping[],
): ApiPrompt {
  const out = structuredClone(workflow) as ApiPrompt;
  if (pathMap.length === 0) return out;
  for (const node of Object.values(out)) {
    if (!isObject(node) || !isObject(node.inputs)) continue;
    for (const [name, value] of Object.entries(node.inputs)) {
      if (typeof value === 'string') node.inputs[name] = toRemotePath(value, pathMap);
    }
  }
  return out;
}

/**
 * Plans a job's inputs for one instance: which inputs to upload (skipping the hashes it already
 * has, per `uploaded` — `InputRepository.uploadedTo(instance.id, hashes)`), and the workflow to
 * send, with the instance's `path_map` applied to string inputs and each bound input (LoadImage's
 * `image`, ...) rewritten to the uploaded `subfolder/name`.
 *
 * @example
 * const inputs = await jobs.inputs(job.id);
 * const have = await inputRepo.uploadedTo(instance.id, inputs.map((i) => i.hash));
 * const plan = prepareInputsForInstance({ workflow: job.workflow, inputs }, instance, have);
 * const names = await uploadInputs(client, plan, { inputStore, inputs: inputRepo, instanceId: instance.id });
 * await client.queuePrompt({ prompt: plan.rewrite(names), prompt_id: job.id });
 */
export function prepareInputsForInstance(
  job: InputPlanJob,
  instance: InputPlanInstance,
  uploaded: ReadonlyMap<string, UploadedInput>,
): InputPlan {
  const uploads: PlannedUpload[] = [];
  const reused = new Map<string, UploadedInput>();
  const planned = new Map<string, UploadedInput>();
  for (const input of job.inputs) {
    if (reused.has(input.hash) || planned.has(input.hash)) continue;
    const have = uploaded.get(input.hash);
    if (have) {
      reused.set(input.hash, have);
      continue;
    }
    const filename = uploadFileName(input.hash, input.mime, input.name);
    uploads.push({
      hash: input.hash,
      filename,
      subfolder: GATEWAY_INPUT_SUBFOLDER,
      mime: input.mime,
      size: input.size,
    });
    planned.set(input.hash, { name: filename, subfolder: GATEWAY_INPUT_SUBFOLDER });
  }
  const base = applyPathMap(job.workflow, instance.path_map ?? []);
  const rewrite = (names: ReadonlyMap<string, UploadedInput>): ApiPrompt => {
    const out = structuredClone(base);
    for (const input of job.inputs) {
      if (input.node_id === null || input.input_name === null) continue;
      const node = out[input.node_id];
      const where = names.get(input.hash) ?? reused.get(input.hash) ?? planned.get(input.hash);
      if (!node || !isObject(node.inputs) || !where) continue;
      node.inputs[input.input_name] = uploadedReference(where);
    }
    return out;
  };
  return { uploads, reused, workflow: rewrite(new Map()), rewrite };
}

/**
 * Uploads the planned inputs to the instance (POST /upload/image into the gateway subfolder,
 * streamed from the input store) and records each upload so it is skipped next time. Resolves to
 * the name of every input on the instance, reused ones included.
 *
 * @example
 * const names = await uploadInputs(client, plan, { inputStore, inputs: inputRepo, instanceId: 'gpu-0' });
 */
export async function uploadInputs(
  client: Pick<ComfyClient, 'uploadImage'>,
  plan: InputPlan,
  deps: {
    inputStore: InputStore;
    inputs: InputRepository;
    instanceId: string;
    signal?: AbortSignal;
  },
): Promise<Map<string, UploadedInput>> {
  const names = new Map(plan.reused);
  for (const u of plan.uploads) {
    const result = await client.uploadImage(deps.inputStore.open(u.hash), {
      filename: u.filename,
      subfolder: u.subfolder,
      type: 'input',
      contentType: u.mime,
      size: u.size,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    const where = { name: result.name, subfolder: result.subfolder ?? u.subfolder };
    await deps.inputs.recordUpload(deps.instanceId, u.hash, where);
    names.set(u.hash, where);
  }
  return names;
}
