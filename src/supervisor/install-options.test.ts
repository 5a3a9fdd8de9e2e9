import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstallOptionsError, resolveInstallOptions } from './install-options.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cc-iopt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveInstallOptions', () => {
  it('takes the environment when no flag is given', async () => {
    const resolved = await resolveInstallOptions(
      {},
      {
        COMFYUI_INSTALL_PATH: '/workspace/ComfyUI',
        COMFYUI_CUSTOM_NODES: 'a/one,b/two@v2',
        COMFYUI_MODELS_PATH: '/workspace/shared/models',
        COMFYUI_CPU_ONLY: 'true',
        ENABLE_COMFYUI: 'false',
      },
    );
    expect(resolved.enabled).toBe(false);
    expect(resolved.warnings).toEqual([]);
    expect(resolved.options).toMatchObject({
      dir: '/workspace/ComfyUI',
      modelsPath: '/workspace/shared/models',
      torch: { mode: 'cpu', indexUrl: 'https://download.pytorch.org/whl/cpu' },
      update: false,
    });
    expect(resolved.options.customNodes?.map((n) => n.spec)).toEqual(['a/one', 'b/two@v2']);
  });

  it('lets flags win over the environment', async () => {
    const file = join(dir, 'nodes.txt');
    await writeFile(file, '# packs\nc/three\n');
    const { options } = await resolveInstallOptions(
      {
        dir: '/opt/ComfyUI',
        customNodesFile: file,
        torchIndex: 'https://download.pytorch.org/whl/cu128',
        ref: 'v0.3.64',
      },
      {
        COMFYUI_INSTALL_PATH: '/elsewhere',
        COMFYUI_CUSTOM_NODES: 'a/one',
        COMFYUI_CPU_ONLY: 'true',
      },
    );
    expect(options).toMatchObject({
      dir: '/opt/ComfyUI',
      ref: 'v0.3.64',
      torch: { mode: 'cuda', indexUrl: 'https://download.pytorch.org/whl/cu128' },
    });
    expect(options.customNodes?.map((n) => n.name)).toEqual(['three']);
  });

  it('defaults to CUDA torch and the data dir', async () => {
    const { options } = await resolveInstallOptions({}, { COMFY_CLUSTER_DATA_DIR: '/srv/cc' });
    expect(options).toMatchObject({
      dir: '/srv/cc/ComfyUI',
      torch: { mode: 'cuda', indexUrl: 'https://download.pytorch.org/whl/cu130' },
      customNodes: [],
      modelsPath: null,
    });
  });

  it('keeps a bad environment value out and names it', async () => {
    const { options, warnings } = await resolveInstallOptions(
      {},
      { COMFYUI_CUSTOM_NODES: 'nope,a/b' },
    );
    expect(options.customNodes?.map((n) => n.spec)).toEqual(['a/b']);
    expect(warnings[0]).toMatch(/^COMFYUI_CUSTOM_NODES entry 1 \("nope"\) ignored/);
  });

  it.each([
    [{ cpu: true, skipTorch: true }, 'choose one of --cpu, --skip-torch'],
    [{ torchIndex: 'cu130' }, '--torch-index "cu130" is not an http(s) URL'],
    [
      { customNodes: 'a/b', customNodesFile: 'x' },
      'choose one of --custom-nodes, --custom-nodes-file',
    ],
    [{ customNodes: 'a/b,oops' }, '--custom-nodes entry 2 ("oops") ignored'],
    [{ customNodesFile: '/no/such/file' }, 'cannot read --custom-nodes-file /no/such/file'],
    [{ ref: '--upload-pack=x' }, 'is not a usable git ref'],
  ])('rejects contradicting or bad flags %j', async (flags, message) => {
    const attempt = resolveInstallOptions(flags, {});
    await expect(attempt).rejects.toThrow(InstallOptionsError);
    await expect(resolveInstallOptions(flags, {})).rejects.toThrow(message);
  });
});
