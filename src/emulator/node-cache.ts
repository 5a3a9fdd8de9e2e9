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
    const parts: JsonValue[] = [node.class_type];
    const names = Object.keys(node.inputs ?? {}).sort();
    const inputParts: JsonValue[] = [];
    for (const name of names) {
      const value = node.inputs[name] as JsonValue;
      if (isLink(value)) inputParts.push([name, 'link', keyOf(value[0]), value[1]]);
      else {
        constants[name] = value;
        inputParts.push([name, value]);
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
    parts.push(changed);
    if (definition?.notIdempotent === true) parts.push(id);
    parts.push(inputParts);
    // Short keys stay readable and skip hashing; long ones (and every key that embeds them) are
    // hashed so chains of nodes do not build ever longer strings.
    const text = JSON.stringify(parts);
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
