/**
 * What the node classes of one emulated instance share: the SaveImage counters and a way to look
 * at other classes' declared input types (PNG metadata prints FLOAT inputs as `2.0`, like Python).
 */
import type { ApiPrompt } from '../../comfy/protocol.js';
import { PyFloat } from '../../comfy/python-format.js';
import { dumpsJson, promptMetadataJson } from './metadata-json.js';
import type { SavePathAllocator } from './save-path.js';
import type { NodeContext, NodeEnvironment } from './types.js';

export interface NodeSetContext {
  readonly savePaths: SavePathAllocator;
  /** Names of the FLOAT inputs of a class (empty for unknown classes). */
  floatInputs(classType: string, env: NodeEnvironment): ReadonlySet<string>;
}

/** The API prompt with FLOAT constants marked, ready for `pyJsonDumps`. */
export function promptForMetadata(
  prompt: ApiPrompt,
  shared: NodeSetContext,
  env: NodeEnvironment,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, node] of Object.entries(prompt)) {
    if (
      node === null ||
      typeof node !== 'object' ||
      typeof node.inputs !== 'object' ||
      !node.inputs
    ) {
      out[id] = node;
      continue;
    }
    const floats = shared.floatInputs(String(node.class_type), env);
    const inputs: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(node.inputs)) {
      inputs[name] = floats.has(name) && typeof value === 'number' ? new PyFloat(value) : value;
    }
    out[id] = { ...node, inputs };
  }
  return out;
}

/**
 * The PNG text chunks SaveImage writes: `prompt`, then one per `extra_pnginfo` key, each as
 * Python's `json.dumps`.
 *
 * @example
 * encodePng(pixels, { text: pngMetadata(ctx, shared) });
 */
export function pngMetadata(ctx: NodeContext, shared: NodeSetContext): Array<[string, string]> {
  // promptMetadataJson is pyJsonDumps(promptForMetadata(...)) in one pass.
  const text: Array<[string, string]> = [
    ['prompt', promptMetadataJson(ctx.prompt, (classType) => shared.floatInputs(classType, ctx))],
  ];
  const extra = ctx.extraData.extra_pnginfo;
  if (extra !== null && typeof extra === 'object' && !Array.isArray(extra)) {
    for (const [key, value] of Object.entries(extra)) text.push([key, dumpsJson(value)]);
  }
  return text;
}
