import { createHash } from 'node:crypto';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { schemaErrors } from '../fleet/index.js';
import {
  JobError,
  type SubmissionFieldError,
  SubmissionInvalidError,
  WorkflowRejectedError,
} from './errors.js';
import type { InputRepository } from './input-repository.js';
import type { InputStore } from './input-store.js';
import {
  DEFAULT_JOB_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
  type Job,
  type JobInputSubmission,
  type JobSubmission,
  JobSubmissionSchema,
} from './job-model.js';
import type { JobRepository, NewJobInput } from './job-repository.js';
import { type FleetCapabilitiesView, validateJobForFleet } from './job-validation.js';
import { extensionForMime } from './mime-sniff.js';
import { fileNameProblem } from './safe-names.js';
import { bindTemplate } from './template-model.js';
import type { TemplateRepository } from './template-repository.js';
import { structureErrors, workflowStructureProblems } from './workflow-structure.js';

/** Defaults applied to a submission (the `JOB_TIMEOUT` setting feeds `timeout_ms`). */
export interface JobDefaults {
  timeout_ms: number;
  max_attempts: number;
}

/** One input of a normalised submission; `data` may be raw bytes (multipart uploads). */
export type NormalizedJobInput = Omit<JobInputSubmission, 'data'> & { data?: string | Uint8Array };

/** A submission with its defaults applied and its rules checked. */
export type NormalizedSubmission = Omit<JobSubmission, 'inputs' | 'timeout_ms' | 'max_attempts'> & {
  inputs: NormalizedJobInput[];
  timeout_ms: number;
  max_attempts: number;
  /** sha256 of the canonical submission (bytes counted by their own hash). */
  request_hash: string;
};

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const checkSubmission = Compile(JobSubmissionSchema);

/** JSON with object keys sorted, so equal values give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Checks a submission against the job model and fills in its defaults: the TypeBox schema, then
 * the rules it cannot express (workflow XOR template, params only with a template, each input
 * with exactly one of data / hash, plain unique file names, node and input given together).
 * Every problem is reported at once as SubmissionInvalidError.
 *
 * @example
 * const s = normalizeSubmission(body, { timeout_ms: settings.job_timeout_ms, max_attempts: 3 });
 */
export function normalizeSubmission(
  raw: unknown,
  defaults: Partial<JobDefaults> = {},
): NormalizedSubmission {
  if (!isObject(raw)) {
    throw new SubmissionInvalidError([{ path: '', message: 'a job must be a JSON object' }]);
  }
  const bytes = new Map<number, Uint8Array>();
  const copy: Record<string, unknown> = { ...raw };
  if (Array.isArray(copy.inputs)) {
    copy.inputs = copy.inputs.map((inp: unknown, i) => {
      if (isObject(inp) && inp.data instanceof Uint8Array) {
        bytes.set(i, inp.data);
        const { data: _data, ...rest } = inp;
        return rest;
      }
      return isObject(inp) ? { ...inp } : inp;
    });
  }
  // Defaults go into this shallow copy (and the copies of the input entries), never into the
  // caller's objects; the workflow itself is only read, so it is not copied.
  const filled = Value.Default(JobSubmissionSchema, copy) as Record<string, unknown>;
  // The compiled check settles valid submissions; the field-by-field walk only explains a failure.
  const errors: SubmissionFieldError[] = checkSubmission.Check(filled)
    ? []
    : schemaErrors(JobSubmissionSchema, filled);
  if (errors.length > 0) throw new SubmissionInvalidError(errors);
  const s = filled as JobSubmission;
  if ((s.workflow === undefined) === (s.template === undefined)) {
    errors.push({
      path: s.workflow === undefined ? 'workflow' : 'template',
      message:
        s.workflow === undefined
          ? 'is required (or give a template name)'
          : 'cannot be combined with workflow: give one of them',
    });
  }
  if (s.params !== undefined && s.template === undefined) {
    errors.push({ path: 'params', message: 'only goes with a template' });
  }
  const names = new Set<string>();
  s.inputs.forEach((inp, i) => {
    const at = `inputs[${i}]`;
    const hasData = inp.data !== undefined || bytes.has(i);
    if (hasData === (inp.hash !== undefined)) {
      errors.push({
        path: at,
        message: hasData
          ? 'give data or hash, not both'
          : 'needs data (bytes, base64 or a data URL) or the hash of an input stored earlier',
      });
    }
    const problem = fileNameProblem(inp.name);
    if (problem) errors.push({ path: `${at}.name`, message: problem });
    if (names.has(inp.name))
      errors.push({ path: `${at}.name`, message: `"${inp.name}" is given twice` });
    names.add(inp.name);
    if ((inp.node === undefined) !== (inp.input === undefined)) {
      errors.push({ path: at, message: 'node and input go together' });
    }
  });
  if (errors.length > 0) throw new SubmissionInvalidError(errors);
  const inputs: NormalizedJobInput[] = s.inputs.map((inp, i) => {
    const b = bytes.get(i);
    return b ? { ...inp, data: b } : inp;
  });
  const hashable = {
    ...s,
    inputs: inputs.map((inp) =>
      inp.data instanceof Uint8Array
        ? { ...inp, data: { sha256: createHash('sha256').update(inp.data).digest('hex') } }
        : inp,
    ),
  };
  return {
    ...s,
    inputs,
    timeout_ms: s.timeout_ms ?? defaults.timeout_ms ?? DEFAULT_JOB_TIMEOUT_MS,
    max_attempts: s.max_attempts ?? defaults.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
    request_hash: createHash('sha256').update(canonical(hashable)).digest('hex'),
  };
}

/** What {@link submitJob} needs. */
export interface JobIntake {
  jobs: JobRepository;
  inputs: InputRepository;
  inputStore: InputStore;
  templates: TemplateRepository;
  /** When absent, only the workflow's structure is checked. */
  fleet?: FleetCapabilitiesView;
  defaults?: Partial<JobDefaults>;
  /** Expected run time of one job, for `estimated_completion_seconds` (default 60 s). */
  estimateRunMs?: number;
  /** The new job's id (a caller-chosen UUID, e.g. a ComfyUI client's prompt_id); default: a new one. */
  jobId?: string;
}

/** The answer to an accepted submission. */
export interface JobAcceptance {
  job: Job;
  /** false: an earlier submission with the same idempotency key (this is its job). */
  created: boolean;
  /** For a replay: whether it was the same request. */
  same_request: boolean;
  /** Pending jobs ahead in the basic order (an estimate); null when not pending. */
  queue_position: number | null;
  estimated_completion_seconds: number | null;
  /** Instances the workflow validated on, and eligible ones not checked yet. */
  capable_instances: string[];
  unverified_instances: string[];
  /** Template parameters given that the chosen variant does not use. */
  ignored_params: string[];
}

interface ResolvedInput {
  name: string;
  hash: string;
  node: string | undefined;
  input: string | undefined;
  mime: string;
}

async function storeInputs(s: NormalizedSubmission, deps: JobIntake): Promise<ResolvedInput[]> {
  const out: ResolvedInput[] = [];
  const errors: SubmissionFieldError[] = [];
  for (const [i, inp] of s.inputs.entries()) {
    const at = `inputs[${i}]`;
    try {
      if (inp.data !== undefined) {
        const stored = await deps.inputStore.put(inp.data, { name: inp.name });
        await deps.inputs.record({
          hash: stored.hash,
          size: stored.size,
          mime: stored.mime,
          original_name: inp.name,
        });
        out.push({
          name: inp.name,
          hash: stored.hash,
          node: inp.node,
          input: inp.input,
          mime: stored.mime,
        });
      } else if (inp.hash !== undefined) {
        const known = await deps.inputs.get(inp.hash);
        if (!known || !(await deps.inputStore.has(inp.hash))) {
          errors.push({ path: `${at}.hash`, message: 'no stored input has this hash' });
          continue;
        }
        await deps.inputs.record(known);
        out.push({
          name: inp.name,
          hash: inp.hash,
          node: inp.node,
          input: inp.input,
          mime: known.mime,
        });
      }
    } catch (err) {
      if (!(err instanceof JobError)) throw err;
      if (err.code === 'INPUT_TOO_LARGE') throw err;
      errors.push({ path: `${at}.data`, message: err.message });
    }
  }
  if (errors.length > 0) throw new SubmissionInvalidError(errors);
  return out;
}

function bindInputs(
  workflow: Record<string, unknown>,
  inputs: readonly ResolvedInput[],
): NewJobInput[] {
  const bindings: NewJobInput[] = [];
  const errors: SubmissionFieldError[] = [];
  inputs.forEach((inp, i) => {
    if (inp.node !== undefined && inp.input !== undefined) {
      const node = workflow[inp.node];
      if (!isObject(node) || !isObject(node.inputs)) {
        errors.push({
          path: `inputs[${i}].node`,
          message: `no node "${inp.node}" in the workflow`,
        });
        return;
      }
      node.inputs[inp.input] = inp.name;
      bindings.push({ hash: inp.hash, name: inp.name, node_id: inp.node, input_name: inp.input });
      return;
    }
    let found = false;
    for (const [id, node] of Object.entries(workflow)) {
      if (!isObject(node) || !isObject(node.inputs)) continue;
      for (const [name, value] of Object.entries(node.inputs)) {
        if (value !== inp.name) continue;
        bindings.push({ hash: inp.hash, name: inp.name, node_id: id, input_name: name });
        found = true;
      }
    }
    if (!found) {
      errors.push({
        path: `inputs[${i}].name`,
        message: `no node input uses "${inp.name}": put the name in a LoadImage image, or give node and input`,
      });
    }
  });
  if (errors.length > 0) throw new SubmissionInvalidError(errors);
  return bindings;
}

/**
 * Accepts a job: checks the submission, binds a template, stores its input files (content
 * addressed), validates it against the fleet (ComfyUI-shaped node_errors when refused), then
 * commits it to the store before answering with its id, queue position and an estimate. With an
 * idempotency key, a replay returns the first job without storing anything again.
 *
 * @example
 * const accepted = await submitJob(req.body, { jobs, inputs, inputStore, templates, fleet });
 * reply.code(202).send({ job_id: accepted.job.id, status: accepted.job.status, queue_position: accepted.queue_position });
 */
export async function submitJob(raw: unknown, deps: JobIntake): Promise<JobAcceptance> {
  const s = normalizeSubmission(raw, deps.defaults);
  if (s.idempotency_key !== undefined) {
    const existing = await deps.jobs.getByIdempotencyKey(s.owner ?? null, s.idempotency_key);
    if (existing) {
      return acceptance(
        deps,
        existing,
        false,
        (await deps.jobs.requestHash(existing.id)) === s.request_hash,
        [],
        [],
        [],
      );
    }
  }
  let workflow: Record<string, unknown>;
  let template: { name: string; params: Record<string, unknown> } | null = null;
  let ignored: string[] = [];
  const inputs = await storeInputs(s, deps);
  if (s.template !== undefined) {
    const t = await deps.templates.getOrThrow(s.template);
    const bound = bindTemplate(t, s.params ?? {});
    workflow = bound.workflow;
    template = { name: t.name, params: bound.params };
    ignored = bound.ignored;
    for (const f of bound.files) {
      if (!f.value.startsWith('data:')) continue;
      const stored = await deps.inputStore.put(f.value, { name: f.param });
      const name = `${f.param}.${extensionForMime(stored.mime) ?? 'bin'}`;
      await deps.inputs.record({
        hash: stored.hash,
        size: stored.size,
        mime: stored.mime,
        original_name: name,
      });
      (template.params as Record<string, unknown>)[f.param] = name;
      inputs.push({ name, hash: stored.hash, node: f.node, input: f.input, mime: stored.mime });
    }
  } else {
    // Binding inputs writes their names into the workflow: copy it only then (the submission's
    // workflow is the caller's).
    const given = s.workflow as Record<string, unknown>;
    workflow = inputs.length > 0 ? structuredClone(given) : given;
  }
  const problems = workflowStructureProblems(workflow);
  if (problems.length > 0) {
    const { error, nodeErrors } = structureErrors(problems, workflow);
    throw new WorkflowRejectedError(
      'WORKFLOW_INVALID',
      error.message,
      error,
      nodeErrors,
      { node_classes: [], models: [] },
      undefined,
    );
  }
  const bindings = bindInputs(workflow, inputs);
  let capable: string[] = [];
  let unverified: string[] = [];
  if (deps.fleet) {
    const v = await validateJobForFleet(
      { workflow, pin: s.pin ?? null, tags: s.tags, input_names: inputs.map((i) => i.name) },
      deps.fleet,
    );
    capable = v.capable;
    unverified = v.unverified;
  }
  const created = await deps.jobs.create({
    ...(deps.jobId === undefined ? {} : { id: deps.jobId }),
    workflow,
    template,
    inputs: bindings,
    priority: s.priority,
    owner: s.owner ?? null,
    pin: s.pin ?? null,
    tags: s.tags,
    timeout_ms: s.timeout_ms,
    max_attempts: s.max_attempts,
    idempotency_key: s.idempotency_key ?? null,
    request_hash: s.request_hash,
    metadata: s.metadata,
    webhook_url: s.webhook_url ?? null,
  });
  return acceptance(
    deps,
    created.job,
    created.created,
    created.same_request,
    capable,
    unverified,
    ignored,
  );
}

async function acceptance(
  deps: JobIntake,
  job: Job,
  created: boolean,
  sameRequest: boolean,
  capable: string[],
  unverified: string[],
  ignored: string[],
): Promise<JobAcceptance> {
  const position = job.status === 'pending' ? await deps.jobs.queuePosition(job.id) : undefined;
  const runMs = deps.estimateRunMs ?? 60_000;
  const parallel = Math.max(1, capable.length + unverified.length);
  return {
    job,
    created,
    same_request: sameRequest,
    queue_position: position ?? null,
    estimated_completion_seconds:
      position === undefined
        ? null
        : Math.ceil((Math.floor(position / parallel) + 1) * (runMs / 1000)),
    capable_instances: capable,
    unverified_instances: unverified,
    ignored_params: ignored,
  };
}
