/** The package's main entry: the SDK (same as `comfy-cluster/client`). */
export * from './client/index.js';
