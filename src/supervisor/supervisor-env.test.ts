import { describe, expect, it } from 'vitest';
import { readSupervisorEnv } from './supervisor-env.js';

describe('readSupervisorEnv', () => {
  it('reads every variable', () => {
    const { values, warnings } = readSupervisorEnv({
      ENABLE_COMFYUI: 'true',
      NUM_GPUS: '2',
      COMFYUI_CPU_ONLY: 'false',
      COMFYUI_PORT_START: '8288',
      COMFYUI_CUSTOM_NODES: 'a/one,https://example.com/two.git@v1',
      COMFYUI_MODELS_PATH: '/workspace/shared/models',
      COMFYUI_INSTALL_PATH: '/workspace/ComfyUI',
    });
    expect(warnings).toEqual([]);
    expect(values).toMatchObject({
      enableComfyui: true,
      numGpus: 2,
      cpuOnly: false,
      portStart: 8288,
      modelsPath: '/workspace/shared/models',
      installPath: '/workspace/ComfyUI',
    });
    expect(values.customNodes?.map((n) => [n.name, n.ref])).toEqual([
      ['one', null],
      ['two', 'v1'],
    ]);
  });

  it('leaves unset variables out', () => {
    expect(readSupervisorEnv({})).toEqual({ values: {}, warnings: [] });
  });

  it('names each unreadable value, what was expected, and the entry position', () => {
    const { values, warnings } = readSupervisorEnv({
      ENABLE_COMFYUI: 'sure',
      COMFYUI_PORT_START: '70000',
      NUM_GPUS: '-1',
      COMFYUI_CUSTOM_NODES: 'a/one,,nope',
    });
    expect(values).toEqual({ customNodes: [expect.objectContaining({ name: 'one' })] });
    expect(warnings).toEqual([
      'ENABLE_COMFYUI="sure" ignored: expected true or false',
      'NUM_GPUS="-1" ignored: expected an integer from 0 to 64',
      'COMFYUI_PORT_START="70000" ignored: expected an integer from 1 to 65535',
      'COMFYUI_CUSTOM_NODES entry 2 ("nope") ignored: cannot tell where it lives: give a git URL (https://…/repo.git) or owner/repo',
    ]);
  });
});
