import type { ModelInputIndex } from '../comfy/model-input-index.js';
import type { ApiPrompt } from '../comfy/protocol.js';
import { InvalidPromptError } from './errors.js';
import type { JobRequirements, ModelRef, ModelUse, RequirementOrigins } from './types.js';

/** Requirements plus where each comes from in the prompt. */
export interface ExtractedRequirements extends JobRequirements {
  origins: RequirementOrigins;
}

/**
 * What a job needs from an instance: every `class_type` of the prompt and every model file its
 * constant inputs name (inputs the fleet's `ModelInputIndex` knows take files of a model folder).
 * Throws `InvalidPromptError` for something that is not an API-format prompt.
 *
 * @example
 * const req = extractRequirements(
 *   { '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sdxl.safetensors' } } },
 *   ModelInputIndex.fromCapabilities([]),
 * );
 * // req.node_classes: ['CheckpointLoaderSimple']
 * // req.models: [{ folder: 'checkpoints', file: 'sdxl.safetensors' }]
 */
export function extractRequirements(
  prompt: ApiPrompt,
  index: ModelInputIndex,
): ExtractedRequirements {
  if (prompt === null || typeof prompt !== 'object' || Array.isArray(prompt)) {
    throw new InvalidPromptError('the prompt must be an object of nodes (node id → node)');
  }
  const nodes = new Map<string, string[]>();
  const uses: ModelUse[] = [];
  const models = new Map<string, ModelRef>();
  for (const [nodeId, node] of Object.entries(prompt) as [string, unknown][]) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) {
      throw new InvalidPromptError(`node "${nodeId}" is not an object`, nodeId);
    }
    const { class_type: classType, inputs } = node as { class_type?: unknown; inputs?: unknown };
    if (typeof classType !== 'string' || classType === '') {
      throw new InvalidPromptError(`node "${nodeId}" has no class_type`, nodeId);
    }
    const ids = nodes.get(classType);
    if (ids === undefined) nodes.set(classType, [nodeId]);
    else ids.push(nodeId);
    if (inputs === undefined || inputs === null) continue;
    if (typeof inputs !== 'object' || Array.isArray(inputs)) {
      throw new InvalidPromptError(
        `node "${nodeId}" (${classType}): inputs must be an object`,
        nodeId,
      );
    }
    for (const [input, value] of Object.entries(inputs)) {
      if (typeof value !== 'string') continue;
      const folder = index.folderFor(classType, input, value);
      if (folder === null) continue;
      uses.push({ folder, file: value, node_id: nodeId, input });
      models.set(`${folder}\u0000${value}`, { folder, file: value });
    }
  }
  const classes = [...nodes.keys()].sort(cmp);
  const byClass: Record<string, string[]> = {};
  for (const classType of classes) {
    Object.defineProperty(byClass, classType, {
      value: (nodes.get(classType) ?? []).sort(compareIds),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  uses.sort((a, b) => compareIds(a.node_id, b.node_id) || cmp(a.input, b.input));
  return {
    node_classes: classes,
    models: [...models.values()].sort((a, b) => cmp(a.folder, b.folder) || cmp(a.file, b.file)),
    origins: { nodes: byClass, models: uses },
  };
}

/**
 * A stable key of requirements (equal requirements, equal key).
 *
 * @example
 * requirementsKey({ node_classes: ['A'], models: [] }); // '[["A"],[]]'
 */
export function requirementsKey(req: JobRequirements): string {
  return JSON.stringify([req.node_classes, req.models.map((m) => [m.folder, m.file])]);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Numeric ids in numeric order ("2" before "10"), others after, by text. */
function compareIds(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : Number.NaN;
  const nb = /^\d+$/.test(b) ? Number(b) : Number.NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb || cmp(a, b);
  if (!Number.isNaN(na)) return -1;
  if (!Number.isNaN(nb)) return 1;
  return cmp(a, b);
}
