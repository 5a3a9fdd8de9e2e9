import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configDir, resolveConfigFile } from './config-paths.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('config location', () => {
  it('per platform', () => {
    expect(configDir({ platform: 'linux', homedir: '/home/ann', env: {} })).toBe(
      '/home/ann/.config/comfy-cluster',
    );
    expect(
      configDir({ platform: 'linux', homedir: '/home/ann', env: { XDG_CONFIG_HOME: '/cfg' } }),
    ).toBe('/cfg/comfy-cluster');
    expect(configDir({ platform: 'darwin', homedir: '/Users/ann', env: {} })).toBe(
      '/Users/ann/Library/Application Support/comfy-cluster',
    );
    expect(
      configDir({
        platform: 'win32',
        homedir: 'C:\\Users\\ann',
        env: { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' },
      }),
    ).toBe('C:\\Users\\ann\\AppData\\Roaming\\comfy-cluster');
    expect(resolveConfigFile({ platform: 'win32', homedir: 'C:\\Users\\ann', env: {} })).toBe(
      'C:\\Users\\ann\\AppData\\Roaming\\comfy-cluster\\comfyui_instances.json',
    );
  });

  it('--config beats COMFY_CLUSTER_CONFIG beats the platform dir; a directory means the file in it', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cc-paths-'));
    const env = { COMFY_CLUSTER_CONFIG: path.join(dir, 'from-env.json') };
    expect(resolveConfigFile({ env, flag: path.join(dir, 'flag.json') })).toBe(
      path.join(dir, 'flag.json'),
    );
    expect(resolveConfigFile({ env })).toBe(path.join(dir, 'from-env.json'));
    expect(resolveConfigFile({ env: { COMFY_CLUSTER_CONFIG: dir } })).toBe(
      path.join(dir, 'comfyui_instances.json'),
    );
    expect(resolveConfigFile({ env: {}, platform: 'linux', homedir: '/home/ann' })).toBe(
      '/home/ann/.config/comfy-cluster/comfyui_instances.json',
    );
  });
});
