import { createHash } from 'node:crypto';
import type { ModelInputIndex } from '../comfy/model-input-index.js';
import type { ApiPrompt, JsonValue } from '../comfy/protocol.js';

/** Numeric inputs that drive run time (sizes, steps, frames...). Seeds, cfg etc. do not. */
const RUNTIME_NUMBERS = new Set([
  'steps',
  'width',
  'height',
  'batch_size',
  'length',
  'frames',
  'num_frames',
  'video_frames',
  'frame_count',
  'scale_by',
  'upscale_by',
  'megapixels',
  'resolution',
  'denoise',
  'tile_size',
  'tile_width',
  'tile_height',
  'start_at_step',
  'end_at_step',
  'iterations',
  'duration',
  'seconds',
]);

/**
 * A stable key for the "shape" of a workflow: its node classes, how they are wired, and the inputs
 * that drive run time (sizes, steps, frames, model files, sampler) — not seeds, prompt text, file
 * names or node ids. Jobs with one shape take about as long as each other on one instance, so
 * run-time estimates are kept per shape.
 *
 * @example
 * const a = workflowShape({ '1': { class_type: 'EmptyImage', inputs: { width: 64, color: 1 } } });
 * const b = workflowShape({ '9': { class_type: 'EmptyImage', inputs: { width: 64, color: 2 } } });
 * a === b; // true: ids and colours do not matter
 */
export function workflowShape(prompt: ApiPrompt, index?: ModelInputIndex): string {
  const memo = new Map<string, string>();
  const visiting = new Set<string>();
  const nodeHash = (id: string): string => {
    const done = memo.get(id);
    if (done !== undefined) return done;
    const node = prompt[id];
    if (node === undefined || node === null || typeof node !== 'object') return 'missing';
    if (visiting.has(id)) return 'cycle';
    visiting.add(id);
    const classType = typeof node.class_type === 'string' ? node.class_type : '?';
    const inputs =
      node.inputs !== null && typeof node.inputs === 'object' && !Array.isArray(node.inputs)
        ? node.inputs
        : {};
    const parts: string[] = [];
    for (const name of Object.keys(inputs).sort()) {
      const part = inputPart(classType, name, inputs[name], nodeHash, index);
      if (part !== null) parts.push(`${name}=${part}`);
    }
    visiting.delete(id);
    const hash = digest(`${classType}(${parts.join(';')})`);
    memo.set(id, hash);
    return hash;
  };
  const ids = prompt !== null && typeof prompt === 'object' ? Object.keys(prompt) : [];
  const all = ids.map(nodeHash).sort();
  return digest(all.join(',')).slice(0, 16);
}

function inputPart(
  classType: string,
  name: string,
  value: JsonValue | undefined,
  nodeHash: (id: string) => string,
  index: ModelInputIndex | undefined,
): string | null {
  if (isLink(value)) return `@${nodeHash(String(value[0]))}#${value[1]}`;
  if (typeof value === 'number') return RUNTIME_NUMBERS.has(name) ? String(value) : null;
  if (typeof value === 'string') {
    if (name.endsWith('_name')) return JSON.stringify(value);
    if (index !== undefined && index.folderFor(classType, name, value) !== null) {
      return JSON.stringify(value);
    }
  }
  return null;
}

function isLink(value: JsonValue | undefined): value is [string, number] {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    (typeof value[0] === 'string' || typeof value[0] === 'number') &&
    typeof value[1] === 'number'
  );
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
