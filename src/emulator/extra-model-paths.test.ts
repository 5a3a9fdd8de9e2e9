import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadExtraModelPaths, parseExtraModelPaths } from './extra-model-paths.js';

describe('extra_model_paths.yaml', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'emu-extra-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses sections, values and | blocks', () => {
    const sections = parseExtraModelPaths(
      'comfyui:\n  base_path: /mnt/models   # shared\n  is_default: true\n  loras: |\n    loras\n    loras_extra\n  clip: "clip"\nother:\n  vae: /v\n',
    );
    expect(sections).toEqual({
      comfyui: {
        base_path: '/mnt/models',
        is_default: 'true',
        loras: 'loras\nloras_extra',
        clip: 'clip',
      },
      other: { vae: '/v' },
    });
  });

  it('lists model files under base_path, mapping legacy folder names', async () => {
    await mkdir(path.join(dir, 'models', 'checkpoints', 'sdxl'), { recursive: true });
    await mkdir(path.join(dir, 'models', 'clip'), { recursive: true });
    await writeFile(path.join(dir, 'models', 'checkpoints', 'a.safetensors'), '');
    await writeFile(path.join(dir, 'models', 'checkpoints', 'sdxl', 'b.ckpt'), '');
    await writeFile(path.join(dir, 'models', 'checkpoints', 'notes.txt'), '');
    await writeFile(path.join(dir, 'models', 'clip', 't5.safetensors'), '');
    const yaml = path.join(dir, 'extra.yaml');
    await writeFile(yaml, 'mine:\n  base_path: models\n  checkpoints: checkpoints\n  clip: clip\n');
    const models = await loadExtraModelPaths([yaml]);
    expect(models.checkpoints?.sort()).toEqual(['a.safetensors', 'sdxl/b.ckpt']);
    expect(models.text_encoders).toEqual(['t5.safetensors']);
  });
});
