/**
 * The node output cache, global to the instance as in ComfyUI: a node's key is built from its
 * class, its isChanged value, its constant inputs and (recursively) its ancestors' keys — node ids
 * only for not-idempotent classes. Classic mode: each new prompt keeps only the entries its own
 * nodes could use, so memory stays bounded on long runs.
 */
import { createHash } from 'node:crypto';
import type { ApiPrompt, HistoryNodeMeta, JsonValue, NodeOutput } from '../comfy/protocol.js';
import { isLink } from './execution-list.js';
import type { NodeEnvironment, NodeRegistry } from './nodes/types.js';

/** What a finished node leaves behind. */
export interface CacheEntry {
  ui: { meta: HistoryNodeMeta; output: NodeOutput } | null;
  outputs: unknown[];
}

let uncachable = 0;
// Prefix of keys that never match (NaN isChanged, missing nodes); JSON keys start with "[".
const UNCACHABLE = 'nan:';

/** JSON.stringify as an array element writes a value (undefined and the like as null). */
function json(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/**
 * Cache keys for every node of a prompt.
 *
 * @example
 * const keys = computeCacheKeys(prompt, registry, env);
 * const hit = cache.get(keys.get('3') ?? '');
 */
export function computeCacheKeys(
  prompt: ApiPrompt,
  registry: NodeRegistry,
  env: NodeEnvironment,
): Map<string, string> {
  const keys = new Map<string, string>();
  const visiting = new Set<string>();
  const keyOf = (id: string): string => {
    const known = keys.get(id);
    if (known !== undefined) return known;
    const node = prompt[id];
    if (node === undefined || visiting.has(id)) return `${UNCACHABLE}${uncachable++}`;
    visiting.add(id);
    const definition = registry.get(node.class_type);
    const constants: Record<string, JsonValue> = {};
    const inputs = node.inputs ?? {};
    const names = Object.keys(inputs).sort();
    // The JSON of [[name, value] | [name, "link", key, index], ...], written directly.
    let inputsJson = '';
    for (const name of names) {
      const value = inputs[name] as JsonValue;
      if (inputsJson !== '') inputsJson += ',';
      if (isLink(value)) {
        inputsJson += `[${json(name)},"link",${json(keyOf(value[0]))},${json(value[1])}]`;
      } else {
        constants[name] = value;
        inputsJson += `[${json(name)},${json(value)}]`;
      }
    }
    let changed: string | number | boolean = false;
    if (definition?.isChanged !== undefined) {
      try {
        changed = definition.isChanged(constants, env);
      } catch {
        changed = Number.NaN;
      }
    }
    visiting.delete(id);
    // NaN never equals itself in ComfyUI's keys: such a node never hits the cache.
    if (typeof changed === 'number' && Number.isNaN(changed)) {
      const key = `${UNCACHABLE}${uncachable++}`;
      keys.set(id, key);
      return key;
    }
    // JSON.stringify([class_type, changed, (id,) inputs]), as built before.
    const text = `[${json(node.class_type)},${json(changed)}${definition?.notIdempotent === true ? `,${json(id)}` : ''},[${inputsJson}]]`;
    // Short keys stay readable and skip hashing; long ones (and every key that embeds them) are
    // hashed so chains of nodes do not build ever longer strings.
    const key = text.length <= 1024 ? text : createHash('sha1').update(text).digest('base64');
    keys.set(id, key);
    return key;
  };
  for (const id in prompt) keyOf(id);
  return keys;
}

/**
 * Node outputs by cache key.
 *
 * @example
 * cache.setPrompt(new Set(keys.values()));
 * cache.set(key, { ui: null, outputs: [image] });
 */
export class NodeCache {
  private readonly entries = new Map<string, CacheEntry>();

  /** Classic mode: drop what the new prompt cannot use. */
  setPrompt(usedKeys: Set<string>): void {
    for (const key of this.entries.keys()) if (!usedKeys.has(key)) this.entries.delete(key);
  }

  get(key: string | undefined): CacheEntry | undefined {
    return key === undefined ? undefined : this.entries.get(key);
  }

  set(key: string | undefined, entry: CacheEntry): void {
    if (key === undefined || key.startsWith(UNCACHABLE)) return;
    this.entries.set(key, entry);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
