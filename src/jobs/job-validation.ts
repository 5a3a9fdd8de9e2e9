import { createHash } from 'node:crypto';
import {
  comboOptions,
  fileInputValidation,
  type JsonValue,
  ModelInputIndex,
  type NodeErrors,
  type NodeInfo,
  type PromptValidationResult,
  type ValidationError,
  validateApiPrompt,
} from '../comfy/index.js';
import { type MissingCapabilities, WorkflowRejectedError } from './errors.js';
import { PIN_ACTIVE } from './job-model.js';
import { structureErrors, workflowStructureProblems } from './workflow-structure.js';

/** What an instance offers: its `/object_info` and its model files per folder. */
export interface InstanceCapabilities {
  node_classes: Readonly<Record<string, NodeInfo>>;
  models: Readonly<Record<string, readonly string[]>>;
}

/** One instance as job validation sees it. `capabilities: null` = not known yet. */
export interface FleetInstanceCapabilities {
  instance_id: string;
  tags: readonly string[];
  capabilities: InstanceCapabilities | null;
  /** The fleet's active instance (what `pin: "active"` means). */
  active?: boolean;
}

/**
 * What job validation needs from the fleet (the health monitor provides it): every enabled
 * instance with its tags and last known capabilities.
 *
 * @example
 * const view: FleetCapabilitiesView = { listCapabilities: () => [{ instance_id: 'gpu-0', tags: [], capabilities }] };
 */
export interface FleetCapabilitiesView {
  listCapabilities():
    | readonly FleetInstanceCapabilities[]
    | Promise<readonly FleetInstanceCapabilities[]>;
}

/** The job as validation needs it. */
export interface JobValidationInput {
  workflow: Record<string, unknown>;
  pin?: string | null;
  tags?: readonly string[];
  /** Names of the files given with the job: they satisfy LoadImage-like inputs. */
  input_names?: readonly string[];
}

/** A job some instance can run. */
export interface JobValidationResult {
  /** Instances (honouring pin and tags) on which the workflow validates. */
  capable: string[];
  /** Eligible instances whose capabilities are not known yet (checked again at placement). */
  unverified: string[];
}

/** A model file a workflow names: node, input, folder (when known) and file. */
export interface ModelUse {
  node_id: string;
  input: string;
  folder: string | null;
  file: string;
}

/** One index per capabilities object: the monitor hands out the same object until it changes. */
const indexes = new WeakMap<InstanceCapabilities, ModelInputIndex>();

function modelInputIndex(caps: InstanceCapabilities): ModelInputIndex {
  let index = indexes.get(caps);
  if (index === undefined) {
    index = ModelInputIndex.fromCapabilities([caps]);
    indexes.set(caps, index);
  }
  return index;
}

/** The combo options of a node's input (null when it is not a combo). */
function inputOptions(info: NodeInfo, input: string): string[] | null {
  return comboOptions(info.input.required?.[input] ?? info.input.optional?.[input]);
}

/**
 * The model files a workflow names on an instance: inputs of stock loaders, and any combo input
 * whose options are one of the instance's model-folder lists (comfy's {@link ModelInputIndex}).
 *
 * @example
 * modelUses(workflow, caps); // [{ node_id: '4', input: 'ckpt_name', folder: 'checkpoints', file: 'sdxl.safetensors' }]
 */
export function modelUses(
  workflow: Record<string, unknown>,
  caps: InstanceCapabilities,
): ModelUse[] {
  const index = modelInputIndex(caps);
  const out: ModelUse[] = [];
  for (const [id, raw] of Object.entries(workflow)) {
    const node = raw as { class_type?: unknown; inputs?: Record<string, unknown> };
    if (typeof node?.class_type !== 'string' || !node.inputs) continue;
    for (const [input, value] of Object.entries(node.inputs)) {
      if (typeof value !== 'string') continue;
      const folder = index.folderFor(node.class_type, input, value);
      if (folder !== null) out.push({ node_id: id, input, folder, file: value });
    }
  }
  return out;
}

interface InstanceCheck {
  instance_id: string;
  result: PromptValidationResult;
  missingClasses: string[];
  missingModels: ModelUse[];
  errorCount: number;
}

function classesOf(workflow: Record<string, unknown>): string[] {
  const out = new Set<string>();
  for (const raw of Object.values(workflow)) {
    const c = (raw as { class_type?: unknown })?.class_type;
    if (typeof c === 'string') out.add(c);
  }
  return [...out].sort();
}

function checkInstance(
  instanceId: string,
  caps: InstanceCapabilities,
  workflow: Record<string, unknown>,
  inputNames: ReadonlySet<string>,
): InstanceCheck {
  const result = validateApiPrompt(workflow, {
    nodes: caps.node_classes,
    customValidation: fileInputValidation((v, f) => inputNames.has(v) || f.options.includes(v)),
  });
  const missingClasses = classesOf(workflow).filter((c) => !Object.hasOwn(caps.node_classes, c));
  const missingModels = modelUses(workflow, caps).filter((m) => {
    const node = workflow[m.node_id] as { class_type: string };
    const info = caps.node_classes[node.class_type];
    const options = info ? inputOptions(info, m.input) : null;
    const listed = m.folder !== null ? caps.models[m.folder] : undefined;
    return !(options?.includes(m.file) ?? false) && !(listed?.includes(m.file) ?? false);
  });
  const errorCount = result.ok
    ? Object.values(result.nodeErrors).reduce((n, e) => n + e.errors.length, 0)
    : 1 + Object.values(result.nodeErrors).reduce((n, e) => n + e.errors.length, 0);
  return { instance_id: instanceId, result, missingClasses, missingModels, errorCount };
}

/** Content keys of capability objects (the monitor keeps one object per fetch, so few). */
const capabilityKeys = new WeakMap<InstanceCapabilities, string>();

/** A digest of what validation reads (node classes, model lists), computed once per object. */
function capabilitiesKey(caps: InstanceCapabilities): string {
  let key = capabilityKeys.get(caps);
  if (key === undefined) {
    key = createHash('sha256')
      .update(JSON.stringify(caps.node_classes))
      .update('\0')
      .update(JSON.stringify(caps.models))
      .digest('base64');
    capabilityKeys.set(caps, key);
  }
  return key;
}

function runs(check: InstanceCheck): boolean {
  return check.result.ok && Object.keys(check.result.nodeErrors).length === 0;
}

function modelKey(m: { folder: string | null; file: string }): string {
  return `${m.folder ?? '?'}/${m.file}`;
}

function list(items: readonly string[]): string {
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function describeMissing(classes: readonly string[], models: readonly string[]): string {
  const parts: string[] = [];
  if (classes.length > 0) {
    parts.push(`node class${classes.length > 1 ? 'es' : ''} ${list(classes)}`);
  }
  if (models.length > 0) parts.push(`model file${models.length > 1 ? 's' : ''} ${list(models)}`);
  return parts.join(' and ');
}

function eligible(
  all: readonly FleetInstanceCapabilities[],
  pin: string | null | undefined,
  tags: readonly string[],
): FleetInstanceCapabilities[] {
  return all.filter(
    (i) =>
      (pin === undefined ||
        pin === null ||
        (pin === PIN_ACTIVE ? i.active === true : i.instance_id === pin)) &&
      tags.every((t) => i.tags.includes(t)),
  );
}

function noInstance(message: string, extra: Record<string, JsonValue>): WorkflowRejectedError {
  const error: ValidationError = {
    type: 'no_capable_instance',
    message,
    details: '',
    extra_info: extra,
  };
  return new WorkflowRejectedError(
    'NO_CAPABLE_INSTANCE',
    message,
    error,
    {},
    { node_classes: [], models: [] },
    undefined,
  );
}

/**
 * Validates a job against the fleet before it is accepted: the workflow's structure, then, on
 * every instance the job may use (its pin and tags), ComfyUI's own validation against that
 * instance's node classes and model lists, with the job's input files satisfying LoadImage-like
 * inputs. Accepted when at least one instance validates it fully (no `node_errors` at all: a
 * partial run is not accepted), or when an eligible instance's capabilities are not known yet.
 *
 * Otherwise throws {@link WorkflowRejectedError}: ComfyUI's `error` and `node_errors` from the
 * closest instance, and `missing` — the node classes and model files no eligible instance has.
 * Its code is NO_CAPABLE_INSTANCE when every eligible instance lacks something (or none is
 * eligible), WORKFLOW_INVALID when the workflow itself is at fault.
 *
 * @example
 * const { capable } = await validateJobForFleet({ workflow, tags: ['sdxl'], input_names: ['in.png'] }, fleetView);
 */
export async function validateJobForFleet(
  job: JobValidationInput,
  fleet: FleetCapabilitiesView,
): Promise<JobValidationResult> {
  const problems = workflowStructureProblems(job.workflow);
  if (problems.length > 0) {
    const { error, nodeErrors } = structureErrors(problems, job.workflow);
    throw new WorkflowRejectedError(
      'WORKFLOW_INVALID',
      error.message,
      error,
      nodeErrors,
      { node_classes: [], models: [] },
      undefined,
    );
  }
  const tags = job.tags ?? [];
  const all = await fleet.listCapabilities();
  const candidates = eligible(all, job.pin, tags);
  if (candidates.length === 0) {
    const wants: string[] = [];
    if (job.pin === PIN_ACTIVE) wants.push('is the active instance');
    else if (job.pin) wants.push(`has id "${job.pin}"`);
    if (tags.length > 0) wants.push(`carries tag${tags.length > 1 ? 's' : ''} ${list([...tags])}`);
    const message =
      all.length === 0 ? 'no instance is configured' : `no instance ${wants.join(' and ')}`;
    throw noInstance(message, { pin: job.pin ?? null, tags: [...tags] });
  }
  const inputNames = new Set(job.input_names ?? []);
  const checks: InstanceCheck[] = [];
  const unverified: string[] = [];
  // Instances with the same capabilities give the same answer: validate once per distinct set.
  const byContent = new Map<string, InstanceCheck>();
  for (const c of candidates) {
    if (c.capabilities === null) {
      unverified.push(c.instance_id);
      continue;
    }
    const key = capabilitiesKey(c.capabilities);
    const same = byContent.get(key);
    if (same) {
      checks.push({ ...same, instance_id: c.instance_id });
    } else {
      const check = checkInstance(c.instance_id, c.capabilities, job.workflow, inputNames);
      byContent.set(key, check);
      checks.push(check);
    }
  }
  const capable = checks.filter(runs).map((c) => c.instance_id);
  if (capable.length > 0 || unverified.length > 0) return { capable, unverified };

  const lacking = checks.filter((c) => c.missingClasses.length > 0 || c.missingModels.length > 0);
  const everywhere = <T>(pick: (c: InstanceCheck) => T[], key: (t: T) => string): T[] => {
    const first = checks[0];
    if (!first) return [];
    return pick(first).filter((t) => checks.every((c) => pick(c).some((u) => key(u) === key(t))));
  };
  const missingClasses = everywhere(
    (c) => c.missingClasses,
    (s) => s,
  );
  const missingModels = everywhere((c) => c.missingModels, modelKey);
  const missing: MissingCapabilities = {
    node_classes: missingClasses,
    models: [...new Map(missingModels.map((m) => [modelKey(m), m])).values()].map((m) => ({
      folder: m.folder ?? '',
      file: m.file,
    })),
  };
  const allLack = lacking.length === checks.length;
  // The answer shown is from the instance closest to running the job: among those that have
  // every capability when the workflow itself is at fault, else the one lacking the least.
  const pool = allLack ? checks : checks.filter((c) => !lacking.includes(c));
  const closest = [...pool].sort(
    (a, b) =>
      a.missingClasses.length +
        a.missingModels.length -
        (b.missingClasses.length + b.missingModels.length) || a.errorCount - b.errorCount,
  )[0] as InstanceCheck;
  const answer = closest.result;
  const comfyError: ValidationError = answer.ok
    ? {
        type: 'prompt_outputs_failed_validation',
        message: 'Prompt outputs failed validation',
        details: '',
        extra_info: {},
      }
    : answer.error;
  const nodeErrors: NodeErrors = answer.nodeErrors;
  let message: string;
  if (allLack) {
    const named = describeMissing(missing.node_classes, missing.models.map(modelKey));
    message = named
      ? `no instance can run this job: ${named} ${missing.node_classes.length + missing.models.length > 1 ? 'are' : 'is'} on no eligible instance`
      : `no single instance can run this job: ${lacking
          .map(
            (c) =>
              `${c.instance_id} lacks ${describeMissing(c.missingClasses, c.missingModels.map(modelKey))}`,
          )
          .join('; ')}`;
  } else {
    const first = Object.values(nodeErrors)[0]?.errors[0];
    message = `workflow is invalid: ${comfyError.message}${first ? ` (${first.message}: ${first.details})` : comfyError.details ? ` (${comfyError.details.split('\n')[0]})` : ''}`;
  }
  throw new WorkflowRejectedError(
    allLack ? 'NO_CAPABLE_INSTANCE' : 'WORKFLOW_INVALID',
    message,
    comfyError,
    nodeErrors,
    missing,
    closest.instance_id,
  );
}
