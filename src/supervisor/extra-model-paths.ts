import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** First line of a file we wrote; a file without it belongs to the user and is never touched. */
export const MODEL_PATHS_MARKER = '# Written by comfy-cluster install';

/** ComfyUI model folders mapped to the same sub-folder of the shared models dir. */
export const MODEL_FOLDERS = [
  'checkpoints',
  'clip_vision',
  'configs',
  'controlnet',
  'diffusion_models',
  'embeddings',
  'gligen',
  'hypernetworks',
  'loras',
  'model_patches',
  'photomaker',
  'style_models',
  'text_encoders',
  'upscale_models',
  'vae',
  'vae_approx',
] as const;

/** Thrown when an extra_model_paths.yaml exists that comfy-cluster did not write. */
export class ForeignModelPathsError extends Error {
  override readonly name = 'ForeignModelPathsError';
}

/**
 * The extra_model_paths.yaml text that points ComfyUI at a shared models folder, as the default
 * location (`is_default: true`, so downloads land there too). Paths are JSON-quoted, which YAML
 * reads as plain strings whatever characters they hold.
 *
 * @example
 * renderExtraModelPaths('/workspace/shared/models');
 * // '# Written by comfy-cluster install …\ncomfy_cluster:\n  base_path: "/workspace/shared/models"\n  is_default: true\n  checkpoints: "checkpoints"\n…'
 */
export function renderExtraModelPaths(modelsPath: string): string {
  return [
    `${MODEL_PATHS_MARKER} (--models-path / COMFYUI_MODELS_PATH); rewritten by each install.`,
    'comfy_cluster:',
    `  base_path: ${JSON.stringify(modelsPath)}`,
    '  is_default: true',
    ...MODEL_FOLDERS.map((folder) => `  ${folder}: ${JSON.stringify(folder)}`),
    '',
  ].join('\n');
}

/** What {@link syncExtraModelPaths} did. */
export type ModelPathsChange = 'written' | 'unchanged' | 'removed' | 'absent';

/**
 * Makes `<comfyDir>/extra_model_paths.yaml` point at `modelsPath` (or removes our file when it is
 * null). Refuses to overwrite a file the user wrote, with a message saying what to do.
 *
 * @example
 * await syncExtraModelPaths('/opt/ComfyUI', '/mnt/models'); // 'written'
 */
export async function syncExtraModelPaths(
  comfyDir: string,
  modelsPath: string | null,
): Promise<ModelPathsChange> {
  const file = join(comfyDir, 'extra_model_paths.yaml');
  let current: string | null = null;
  try {
    current = await readFile(file, 'utf8');
  } catch {
    current = null;
  }
  const ours = current === null || current.startsWith(MODEL_PATHS_MARKER);
  if (modelsPath === null) {
    if (current === null || !ours) return 'absent';
    await rm(file, { force: true });
    return 'removed';
  }
  if (!ours) {
    throw new ForeignModelPathsError(
      `${file} exists and was not written by comfy-cluster: merge the shared models path into it yourself, or move it away and run install again`,
    );
  }
  const wanted = renderExtraModelPaths(modelsPath);
  if (current === wanted) return 'unchanged';
  await writeFile(`${file}.tmp`, wanted);
  await rename(`${file}.tmp`, file);
  return 'written';
}
