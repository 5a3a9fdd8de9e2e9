/** The emulator's `--models` notation: "checkpoints=a.safetensors,b.safetensors;loras=x.safetensors". */
import type { ModelLists } from './nodes/types.js';

/**
 * Parses a model spec into folder → file list.
 *
 * @example
 * parseModelSpec('checkpoints=a.safetensors,b.safetensors;loras=x.safetensors');
 * // { checkpoints: ['a.safetensors', 'b.safetensors'], loras: ['x.safetensors'] }
 */
export function parseModelSpec(spec: string): ModelLists {
  const models: ModelLists = {};
  for (const group of spec.split(';')) {
    const trimmed = group.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) {
      throw new Error(
        `"${trimmed}" is not folder=file[,file...] (example: checkpoints=a.safetensors,b.safetensors;loras=x.safetensors)`,
      );
    }
    const folder = trimmed.slice(0, eq).trim();
    const files = trimmed
      .slice(eq + 1)
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '');
    models[folder] = [...(models[folder] ?? []), ...files];
  }
  return models;
}
