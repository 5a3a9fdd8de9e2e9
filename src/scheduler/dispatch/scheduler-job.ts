import type { ApiPrompt } from '../../comfy/index.js';
import { type Job, PIN_ACTIVE } from '../../jobs/index.js';
import type { ModelInputIndex } from '../model-input-index.js';
import { extractRequirements } from '../requirements.js';
import type { SchedulerJob } from '../types.js';
import { modelKey } from '../types.js';
import { workflowShape } from '../workflow-shape.js';

/**
 * A stored job as the scheduler sees it: requirements and shape from its workflow (models found
 * with the fleet's index), its owner, priority, pin (`"active"` resolved to an id), tags,
 * exclusions, and its FIFO place (`created_at`: a requeued job keeps its place). Throws
 * `InvalidPromptError` for a workflow that is not an API-format prompt.
 *
 * @example
 * scheduler.enqueue(toSchedulerJob(job, fleet.modelIndex(), fleet.activeId()));
 */
export function toSchedulerJob(
  job: Job,
  index: ModelInputIndex,
  activeId: string | undefined,
  extra: { oom_vram_free?: number | null } = {},
): SchedulerJob {
  const prompt = job.workflow as ApiPrompt;
  const req = extractRequirements(prompt, index);
  const pin = job.pin === PIN_ACTIVE ? (activeId ?? job.pin) : job.pin;
  const out: SchedulerJob = {
    id: job.id,
    owner: job.owner ?? '',
    priority: job.priority,
    requirements: { node_classes: req.node_classes, models: req.models },
    shape: workflowShape(prompt, index),
    submitted_at: job.created_at,
    pin,
    tags: job.tags,
    excluded: job.excluded_instances,
  };
  if (extra.oom_vram_free !== undefined) out.oom_vram_free = extra.oom_vram_free;
  return out;
}

/**
 * Model keys (`folder/file`) a scheduler job uses, for model affinity.
 *
 * @example
 * modelKeysOf(job); // ['checkpoints/sdxl.safetensors']
 */
export function modelKeysOf(job: SchedulerJob): string[] {
  return job.requirements.models.map(modelKey);
}
