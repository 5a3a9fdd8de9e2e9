import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** File name of the instance list. */
export const CONFIG_FILE_NAME = 'comfyui_instances.json';
const APP_DIR = 'comfy-cluster';

/** What the config location depends on (all injectable for tests). */
export interface ConfigLocationInput {
  /** `--config` flag: a file, or an existing directory to put `comfyui_instances.json` in. */
  flag?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
  platform?: NodeJS.Platform;
  homedir?: string;
}

/**
 * The platform config dir: Linux (and other Unixes) `$XDG_CONFIG_HOME/comfy-cluster` or
 * `~/.config/comfy-cluster`, macOS `~/Library/Application Support/comfy-cluster`, Windows
 * `%APPDATA%\comfy-cluster`.
 *
 * @example
 * configDir({ platform: 'darwin', homedir: '/Users/ann', env: {} });
 * // '/Users/ann/Library/Application Support/comfy-cluster'
 */
export function configDir(input: Omit<ConfigLocationInput, 'flag'> = {}): string {
  const env = input.env ?? process.env;
  const platform = input.platform ?? process.platform;
  const home = input.homedir ?? os.homedir();
  if (platform === 'win32') {
    const appData = env.APPDATA?.trim() || path.win32.join(home, 'AppData', 'Roaming');
    return path.win32.join(appData, APP_DIR);
  }
  if (platform === 'darwin') {
    return path.posix.join(home, 'Library', 'Application Support', APP_DIR);
  }
  const xdg = env.XDG_CONFIG_HOME?.trim();
  return path.posix.join(
    xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.config'),
    APP_DIR,
  );
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Where `comfyui_instances.json` is: `--config` > `COMFY_CLUSTER_CONFIG` > the platform config
 * dir. A flag or variable naming an existing directory means the file inside it.
 *
 * @example
 * resolveConfigFile({ env: { COMFY_CLUSTER_CONFIG: '/etc/cc/instances.json' } }); // '/etc/cc/instances.json'
 */
export function resolveConfigFile(input: ConfigLocationInput = {}): string {
  const env = input.env ?? process.env;
  const explicit = input.flag?.trim() || env.COMFY_CLUSTER_CONFIG?.trim();
  if (explicit) {
    const resolved = path.resolve(explicit);
    return isDirectory(resolved) ? path.join(resolved, CONFIG_FILE_NAME) : resolved;
  }
  const dir = configDir(input);
  return (input.platform ?? process.platform) === 'win32'
    ? path.win32.join(dir, CONFIG_FILE_NAME)
    : path.posix.join(dir, CONFIG_FILE_NAME);
}
