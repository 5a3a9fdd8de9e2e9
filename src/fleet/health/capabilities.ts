import type { ComfyClient, NodeInfo } from '../../comfy/index.js';

/**
 * What an instance can run: its node classes with their inputs (from `/object_info`, the same
 * data ComfyUI validates prompts against, combo lists of model files included) and its model
 * files per folder (from `/models/{folder}`). Stable shape for the scheduler's validation.
 */
export interface InstanceCapabilities {
  node_classes: Record<string, NodeInfo>;
  /** Folder (`checkpoints`, `loras`, `vae`, `upscale_models`, ...) → file names. */
  models: Record<string, string[]>;
  /** ISO-8601. */
  fetched_at: string;
}

/** Folders `/models` lists that hold no model files. */
const NOT_MODEL_FOLDERS = new Set(['custom_nodes']);

/**
 * Fetches an instance's capabilities: `/object_info` once, then `/models` and each folder's list
 * (as many at once as the client's connection limit allows).
 *
 * Model lists come from `/models/{folder}` rather than being derived from `/object_info` combos:
 * the folder lists are ComfyUI's own file index, complete for every folder (also those no loaded
 * node exposes as a combo) and unambiguous about which folder a file lives in; the combos stay
 * available in `node_classes` to check one input's value the way ComfyUI does.
 *
 * @example
 * const caps = await fetchCapabilities(client, { timeoutMs: 60_000 });
 * 'KSampler' in caps.node_classes; caps.models.checkpoints?.includes('sd_xl_base_1.0.safetensors');
 */
export async function fetchCapabilities(
  client: ComfyClient,
  options: { timeoutMs?: number; signal?: AbortSignal; now?: () => number } = {},
): Promise<InstanceCapabilities> {
  const call = {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const [nodeClasses, folders] = await Promise.all([
    client.getObjectInfo(call),
    client.listModelFolders(call),
  ]);
  const wanted = folders.filter((f) => !NOT_MODEL_FOLDERS.has(f));
  const lists = await Promise.all(wanted.map((f) => client.listModels(f, call)));
  const models: Record<string, string[]> = {};
  wanted.forEach((folder, i) => {
    const files = lists[i];
    if (files !== undefined) models[folder] = files;
  });
  return {
    node_classes: nodeClasses,
    models,
    fetched_at: new Date((options.now ?? Date.now)()).toISOString(),
  };
}
