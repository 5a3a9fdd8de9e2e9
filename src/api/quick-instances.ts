import { checkHost, DEFAULT_PORT, type InstanceCreate } from '../fleet/index.js';

/** `--instances` could not be read; the message names the entry and what is wrong. */
export class QuickInstancesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuickInstancesError';
  }
}

/** Environment variables that define instances (left out when `--instances` replaces them). */
export const INSTANCE_ENV_VARIABLES = [
  'COMFYUI_SERVERS',
  'NUKE_COMFYUI_SERVERS',
  'NUKE_COMFYUI_IP',
  'NUKE_COMFYUI_PORT',
  'NUKE_COMFYUI_DIR_LOCAL',
  'NUKE_COMFYUI_DIR_REMOTE',
];

/**
 * The environment without the variables that define instances (`COMFYUI_HOST_<n>` included),
 * keeping the tunables (timeouts, log level, ...).
 *
 * @example
 * withoutInstanceVariables({ COMFYUI_HOST_1: 'a:8188', LOG_LEVEL: 'debug' }); // { LOG_LEVEL: 'debug' }
 */
export function withoutInstanceVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (INSTANCE_ENV_VARIABLES.includes(k) || /^COMFYUI_HOST_\d+$/.test(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * Reads `--instances`: comma-separated `http://host:port`, `https://host:port`, `host:port` or
 * `host` (port 8188). Credentials in the URL are refused (they would show in the process list).
 *
 * @example
 * parseQuickInstances('http://127.0.0.1:8188,gpu2.lan:8189');
 * // [{ name: 'quick-1', host: '127.0.0.1', port: 8188, tls: false, ... }, { name: 'quick-2', host: 'gpu2.lan', port: 8189, ... }]
 */
export function parseQuickInstances(text: string): InstanceCreate[] {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new QuickInstancesError('--instances lists no instance');
  return entries.map((entry, i) => {
    const where = `--instances entry ${i + 1} (${JSON.stringify(entry)})`;
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `http://${entry}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new QuickInstancesError(`${where} is not a URL or host:port`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new QuickInstancesError(`${where}: only http:// and https:// are supported`);
    }
    if (url.username || url.password) {
      throw new QuickInstancesError(
        `${where}: credentials in the URL are not accepted (they would show in the process list); put them in the config file`,
      );
    }
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      throw new QuickInstancesError(`${where}: give only scheme, host and port (no path or query)`);
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const check = checkHost(host);
    if (!check.ok) throw new QuickInstancesError(`${where}: ${check.message}`);
    const tls = url.protocol === 'https:';
    // URL drops a scheme's default port (http://h:80 → ''), so read it from the text.
    const authority = withScheme.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split(/[/?#]/)[0] ?? '';
    const given = /:(\d+)$/.exec(authority)?.[1];
    const port = given !== undefined ? Number(given) : tls ? 443 : DEFAULT_PORT;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new QuickInstancesError(`${where}: the port must be between 1 and 65535`);
    }
    return {
      name: `quick-${i + 1}`,
      host,
      port,
      tls,
      description: 'from --instances (not saved to the config file)',
    };
  });
}
