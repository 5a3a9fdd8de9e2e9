import type {
  InstanceCapabilities,
  JobRequirements,
  ModelRef,
  PlacementConstraints,
} from './types.js';
import { modelKey } from './types.js';

/** What capability matching looks at on an instance. */
export interface CapabilityTarget {
  id: string;
  capabilities: InstanceCapabilities;
  tags: readonly string[];
}

/** Why a job cannot run on one instance. */
export interface CannotRun {
  ok: false;
  missing_nodes: string[];
  missing_models: ModelRef[];
  /** Required tags the instance does not carry. */
  missing_tags: string[];
  /** The job is pinned to another instance. */
  pinned_elsewhere: boolean;
  /** The job failed on this instance before. */
  excluded: boolean;
  /** One sentence naming everything above. */
  reason: string;
}

export type CanRunResult = { ok: true } | CannotRun;

const fileSets = new WeakMap<readonly string[], Set<string>>();

function hasFile(caps: InstanceCapabilities, ref: ModelRef): boolean {
  const list = Object.hasOwn(caps.models, ref.folder) ? caps.models[ref.folder] : undefined;
  if (!Array.isArray(list)) return false;
  let set = fileSets.get(list);
  if (set === undefined) {
    set = new Set(list);
    fileSets.set(list, set);
  }
  return set.has(ref.file);
}

/**
 * Whether a job with these requirements may run on an instance: every node class exists there,
 * every model file is in its lists, it carries the job's tags, the job is not pinned elsewhere and
 * did not fail there. Health and free slots are not looked at (placement does that).
 *
 * @example
 * const r = canRun(req, { id: 'gpu1', capabilities, tags: [] }, { tags: ['sdxl'] });
 * if (!r.ok) console.log(r.reason); // "gpu1 lacks tag sdxl; model checkpoints/sdxl.safetensors"
 */
export function canRun(
  req: JobRequirements,
  target: CapabilityTarget,
  constraints: PlacementConstraints = {},
): CanRunResult {
  const caps = target.capabilities;
  const missingNodes = req.node_classes.filter((c) => !Object.hasOwn(caps.node_classes, c));
  const missingModels = req.models.filter((m) => !hasFile(caps, m));
  const missingTags = (constraints.tags ?? []).filter((t) => !target.tags.includes(t));
  const pinnedElsewhere =
    constraints.pin !== undefined && constraints.pin !== null && constraints.pin !== target.id;
  const excluded = constraints.excluded?.includes(target.id) ?? false;
  if (
    missingNodes.length === 0 &&
    missingModels.length === 0 &&
    missingTags.length === 0 &&
    !pinnedElsewhere &&
    !excluded
  ) {
    return { ok: true };
  }
  const parts: string[] = [];
  if (pinnedElsewhere) parts.push(`the job is pinned to ${constraints.pin}`);
  if (excluded) parts.push('the job already failed there');
  if (missingNodes.length > 0)
    parts.push(`${plural('node', missingNodes.length)} ${missingNodes.join(', ')}`);
  if (missingModels.length > 0) {
    parts.push(
      `${plural('model', missingModels.length)} ${missingModels.map(modelKey).join(', ')}`,
    );
  }
  if (missingTags.length > 0)
    parts.push(`${plural('tag', missingTags.length)} ${missingTags.join(', ')}`);
  return {
    ok: false,
    missing_nodes: missingNodes,
    missing_models: missingModels,
    missing_tags: missingTags,
    pinned_elsewhere: pinnedElsewhere,
    excluded,
    reason: `${target.id}: ${pinnedElsewhere || excluded ? '' : 'lacks '}${parts.join('; ')}`,
  };
}

/** Whether any instance of a fleet could ever run a job, and if not, what is missing. */
export interface FleetCheck {
  ok: boolean;
  /** Instances that can run it (health and load not considered). */
  capable: string[];
  /** Node classes no instance has. */
  missing_nodes: string[];
  /** Model files no instance lists. */
  missing_models: ModelRef[];
  /** Required tags no instance carries. */
  missing_tags: string[];
  /** Why each other instance cannot. */
  per_instance: Record<string, CannotRun>;
  /** Null when ok; else one message naming what is missing. */
  reason: string | null;
}

/**
 * Fail-fast check at submit time: which instances of the fleet could ever run the job. When none
 * can, `reason` names what is missing (nodes or models nowhere, or no single instance with all),
 * and `missing_*` / `per_instance` give the jobs layer the data for ComfyUI-shaped `node_errors`.
 *
 * @example
 * const check = checkFleet(req, fleet.map((i) => ({ id: i.id, capabilities: i.caps, tags: i.tags })));
 * if (!check.ok) reject(check.reason); // "no instance has node InspyrenetRembg"
 */
export function checkFleet(
  req: JobRequirements,
  fleet: readonly CapabilityTarget[],
  constraints: PlacementConstraints = {},
): FleetCheck {
  const capable: string[] = [];
  const perInstance: Record<string, CannotRun> = {};
  for (const target of fleet) {
    const result = canRun(req, target, constraints);
    if (result.ok) capable.push(target.id);
    else perInstance[target.id] = result;
  }
  const missingNodes = req.node_classes.filter(
    (c) => !fleet.some((t) => Object.hasOwn(t.capabilities.node_classes, c)),
  );
  const missingModels = req.models.filter((m) => !fleet.some((t) => hasFile(t.capabilities, m)));
  const missingTags = (constraints.tags ?? []).filter(
    (tag) => !fleet.some((t) => t.tags.includes(tag)),
  );
  const base = {
    capable,
    missing_nodes: missingNodes,
    missing_models: missingModels,
    missing_tags: missingTags,
    per_instance: perInstance,
  };
  if (capable.length > 0) return { ok: true, ...base, reason: null };
  return {
    ok: false,
    ...base,
    reason: fleetReason(fleet, constraints, missingNodes, missingModels, missingTags, perInstance),
  };
}

function fleetReason(
  fleet: readonly CapabilityTarget[],
  constraints: PlacementConstraints,
  missingNodes: string[],
  missingModels: ModelRef[],
  missingTags: string[],
  perInstance: Record<string, CannotRun>,
): string {
  if (fleet.length === 0) return 'no instance is configured';
  const pin = constraints.pin;
  if (pin !== undefined && pin !== null && !fleet.some((t) => t.id === pin)) {
    return `the job is pinned to instance ${pin}, which does not exist`;
  }
  const parts: string[] = [];
  if (missingNodes.length > 0)
    parts.push(`${plural('node', missingNodes.length)} ${missingNodes.join(', ')}`);
  if (missingModels.length > 0) {
    parts.push(
      `${plural('model', missingModels.length)} ${missingModels.map(modelKey).join(', ')}`,
    );
  }
  if (missingTags.length > 0)
    parts.push(`${plural('tag', missingTags.length)} ${missingTags.join(', ')}`);
  if (parts.length > 0) return `no instance has ${parts.join('; ')}`;
  const others = Object.values(perInstance);
  if (others.length > 0 && others.every((r) => r.excluded || r.pinned_elsewhere)) {
    return 'the job already failed on every instance it may run on';
  }
  return `no single instance has everything the job needs: ${others.map((r) => r.reason).join(' | ')}`;
}

function plural(word: string, n: number): string {
  return n === 1 ? word : `${word}s`;
}
