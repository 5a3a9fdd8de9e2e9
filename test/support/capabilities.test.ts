import { describe, expect, it } from 'vitest';
import { type TargetCapabilities, unmetReason } from './capabilities.js';

const real: TargetCapabilities = {
  kind: 'real',
  nodes: new Set(['EmptyImage', 'SaveImage']),
  inputDirAccess: false,
  destructive: false,
};

describe('unmetReason', () => {
  it('names the missing nodes, the input folder and the destructive opt-in', () => {
    expect(unmetReason(real, { nodes: ['EmptyImage', 'SaveImageWebsocket'] })).toBe(
      'the server lacks node SaveImageWebsocket',
    );
    expect(unmetReason(real, { inputDirAccess: true })).toContain('COMFYUI_INPUT_DIR');
    expect(unmetReason(real, { destructive: true })).toContain('COMFYUI_CONTRACT_DESTRUCTIVE=1');
    expect(unmetReason(real, { nodes: ['EmptyImage', 'SaveImage'] })).toBeUndefined();
  });

  it('never skips on the emulator, which must have every node the recordings use', () => {
    const emulator: TargetCapabilities = {
      kind: 'emulator',
      nodes: undefined,
      inputDirAccess: true,
      destructive: true,
    };
    expect(
      unmetReason(emulator, {
        nodes: ['SaveImageWebsocket'],
        inputDirAccess: true,
        destructive: true,
      }),
    ).toBeUndefined();
  });
});
