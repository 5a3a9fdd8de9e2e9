import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDataDir, defaultStoreFile } from './paths.js';

describe('data dir', () => {
  it('COMFY_CLUSTER_DATA_DIR overrides the platform dir', () => {
    expect(defaultDataDir({ COMFY_CLUSTER_DATA_DIR: '/srv/cc' })).toBe(path.resolve('/srv/cc'));
    expect(defaultStoreFile({ env: { COMFY_CLUSTER_DATA_DIR: '/srv/cc' } })).toBe(
      path.join(path.resolve('/srv/cc'), 'comfy-cluster.db'),
    );
  });

  it('defaults to the platform data dir named comfy-cluster, without a suffix', () => {
    const dir = defaultDataDir({});
    expect(path.basename(process.platform === 'win32' ? path.dirname(dir) : dir)).toBe(
      'comfy-cluster',
    );
    expect(defaultDataDir({ COMFY_CLUSTER_DATA_DIR: '  ' })).toBe(dir);
  });

  it('an explicit dataDir wins', () => {
    expect(defaultStoreFile({ dataDir: '/x' })).toBe(path.join('/x', 'comfy-cluster.db'));
  });
});
