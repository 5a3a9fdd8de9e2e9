import path from 'node:path';
import envPaths from 'env-paths';

/** Directory and file names used under the platform directories. */
export const APP_NAME = 'comfy-cluster';
/** File name of the embedded SQLite database inside the data dir. */
export const STORE_FILE_NAME = 'comfy-cluster.db';

/** Environment variables that move the data dir (the whole object is optional). */
export interface DataDirEnv {
  COMFY_CLUSTER_DATA_DIR?: string | undefined;
}

/**
 * The platform data dir: `COMFY_CLUSTER_DATA_DIR` when set, else env-paths' data dir for
 * `comfy-cluster` (Linux `~/.local/share/comfy-cluster`, macOS
 * `~/Library/Application Support/comfy-cluster`, Windows `%LOCALAPPDATA%\comfy-cluster\Data`).
 *
 * @example
 * defaultDataDir({ COMFY_CLUSTER_DATA_DIR: '/srv/cc' }); // '/srv/cc'
 */
export function defaultDataDir(env: DataDirEnv = process.env): string {
  const override = env.COMFY_CLUSTER_DATA_DIR?.trim();
  if (override) return path.resolve(override);
  return envPaths(APP_NAME, { suffix: '' }).data;
}

/**
 * Where the SQLite store lives: `<dataDir>/comfy-cluster.db`.
 *
 * @example
 * defaultStoreFile({ dataDir: '/tmp/x' }); // '/tmp/x/comfy-cluster.db'
 */
export function defaultStoreFile(options: { dataDir?: string; env?: DataDirEnv } = {}): string {
  return path.join(options.dataDir ?? defaultDataDir(options.env), STORE_FILE_NAME);
}
