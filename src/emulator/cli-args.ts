/**
 * ComfyUI's command-line flags (the ones a supervisor passes to main.py), plus the emulator's own
 * (--speed, --models, --node-packs, --version-string), parsed into EmulatorOptions. Unknown flags
 * are tolerated with a warning, so a supervisor can launch the emulator exactly like ComfyUI.
 */
import { parseModelSpec } from './model-spec.js';
import type { EmulatorOptions } from './options.js';

export interface ParsedArgs {
  options: EmulatorOptions;
  /** --quick-test-for-ci: start up, then exit 0 before binding. */
  quickTest: boolean;
  previewMethod: string;
  extraModelPathConfigs: string[];
  verbose: boolean;
  /** Problems that make the command line unusable (exit 2, as argparse does). */
  errors: string[];
  warnings: string[];
}

type Arity = 'flag' | 'value' | 'optional' | 'many';

// ComfyUI flags that take a value / an optional value / several values; everything else known
// is a plain switch.
const FLAGS: Record<string, Arity> = {
  '--listen': 'optional',
  '--port': 'value',
  '--cpu': 'flag',
  '--cuda-device': 'value',
  '--default-device': 'value',
  '--output-directory': 'value',
  '--input-directory': 'value',
  '--temp-directory': 'value',
  '--user-directory': 'value',
  '--base-directory': 'value',
  '--models-directory': 'value',
  '--extra-model-paths-config': 'many',
  '--disable-auto-launch': 'flag',
  '--auto-launch': 'flag',
  '--max-upload-size': 'value',
  '--preview-method': 'value',
  '--preview-size': 'value',
  '--quick-test-for-ci': 'flag',
  '--verbose': 'optional',
  '--log-stdout': 'flag',
  '--enable-cors-header': 'optional',
  '--tls-keyfile': 'value',
  '--tls-certfile': 'value',
  '--database-url': 'value',
  '--front-end-version': 'value',
  '--front-end-root': 'value',
  '--dont-print-server': 'flag',
  '--disable-all-custom-nodes': 'flag',
  '--whitelist-custom-nodes': 'many',
  '--disable-api-nodes': 'flag',
  '--enable-manager': 'flag',
  '--disable-metadata': 'flag',
  '--enable-compress-response-body': 'flag',
  '--default-hashing-function': 'value',
  '--cache-classic': 'flag',
  '--cache-lru': 'value',
  '--cache-ram': 'optional',
  '--cache-none': 'flag',
  '--highvram': 'flag',
  '--lowvram': 'flag',
  '--novram': 'flag',
  '--gpu-only': 'flag',
  '--reserve-vram': 'value',
  '--disable-smart-memory': 'flag',
  '--multi-user': 'flag',
  '--windows-standalone-build': 'flag',
  // Emulator only.
  '--speed': 'value',
  '--models': 'value',
  '--node-packs': 'value',
  '--version-string': 'value',
  '--max-history': 'value',
};

function isFlag(token: string | undefined): boolean {
  return token?.startsWith('--') === true;
}

/**
 * Parses main.py-style arguments.
 *
 * @example
 * parseComfyArgs(['--listen', '127.0.0.1', '--port', '8190', '--cpu']).options.port; // 8190
 */
export function parseComfyArgs(argv: readonly string[]): ParsedArgs {
  const values = new Map<string, string[]>();
  const errors: string[] = [];
  const warnings: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let token = argv[i] as string;
    let inline: string | undefined;
    const eq = token.indexOf('=');
    if (token.startsWith('--') && eq > 0) {
      inline = token.slice(eq + 1);
      token = token.slice(0, eq);
    }
    const arity = FLAGS[token];
    if (arity === undefined) {
      if (!isFlag(token)) {
        warnings.push(`ignoring unexpected argument "${token}"`);
        continue;
      }
      // Unknown flag: tolerated; a following non-flag token is taken as its value.
      if (inline === undefined && argv[i + 1] !== undefined && !isFlag(argv[i + 1])) i++;
      warnings.push(`ignoring unknown flag ${token}`);
      continue;
    }
    const taken: string[] = [];
    if (inline !== undefined) taken.push(inline);
    else if (arity === 'value') {
      const next = argv[i + 1];
      if (next === undefined || isFlag(next)) {
        errors.push(`${token} expects a value`);
        continue;
      }
      taken.push(next);
      i++;
    } else if (arity === 'optional') {
      const next = argv[i + 1];
      if (next !== undefined && !isFlag(next)) {
        taken.push(next);
        i++;
        // --verbose LEVEL FILE
        if (token === '--verbose' && argv[i + 1] !== undefined && !isFlag(argv[i + 1])) i++;
      }
    } else if (arity === 'many') {
      while (argv[i + 1] !== undefined && !isFlag(argv[i + 1])) {
        taken.push(argv[i + 1] as string);
        i++;
      }
      if (taken.length === 0) errors.push(`${token} expects at least one value`);
    }
    values.set(token, [...(values.get(token) ?? []), ...(taken.length ? taken : [''])]);
  }

  const last = (flag: string): string | undefined => values.get(flag)?.at(-1);
  const options: EmulatorOptions = { argv: ['main.py', ...argv] };

  if (values.has('--listen')) {
    const listen = last('--listen') ?? '';
    // Without a value ComfyUI binds 0.0.0.0 and ::; the emulator binds the first address.
    options.host = listen === '' ? '0.0.0.0' : (listen.split(',')[0] ?? '0.0.0.0').trim();
  }
  const port = last('--port');
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 0 || n > 65535) errors.push(`--port: invalid port "${port}"`);
    else options.port = n;
  }
  if (values.has('--cpu')) options.cpu = true;
  for (const [flag, key] of [
    ['--output-directory', 'outputDirectory'],
    ['--input-directory', 'inputDirectory'],
    ['--temp-directory', 'tempDirectory'],
    ['--user-directory', 'userDirectory'],
    ['--base-directory', 'baseDirectory'],
  ] as const) {
    const value = last(flag);
    if (value !== undefined) options[key] = value;
  }
  const upload = last('--max-upload-size');
  if (upload !== undefined) {
    const n = Number(upload);
    if (!Number.isFinite(n) || n <= 0) errors.push(`--max-upload-size: invalid size "${upload}"`);
    else options.maxUploadSizeMb = n;
  }
  const speed = last('--speed');
  if (speed !== undefined) {
    const n = speed.toLowerCase() === 'infinity' ? Number.POSITIVE_INFINITY : Number(speed);
    if (Number.isNaN(n) || n <= 0)
      errors.push(`--speed: expected a number > 0 or Infinity, got "${speed}"`);
    else options.speed = n;
  }
  const models = last('--models');
  if (models !== undefined) {
    try {
      options.models = parseModelSpec(models);
    } catch (err) {
      errors.push(`--models: ${(err as Error).message}`);
    }
  }
  const packs = last('--node-packs');
  if (packs !== undefined) {
    options.nodePacks = packs
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
  }
  const version = last('--version-string');
  if (version !== undefined) options.version = version;
  const maxHistory = last('--max-history');
  if (maxHistory !== undefined) {
    const n = Number(maxHistory);
    if (!Number.isInteger(n) || n < 1) errors.push(`--max-history: invalid count "${maxHistory}"`);
    else options.maxHistory = n;
  }
  const cuda = last('--cuda-device');
  if (cuda !== undefined && cuda !== 'all' && !/^\d+(,\d+)*$/.test(cuda)) {
    errors.push(`--cuda-device: expected a comma list of indexes or "all", got "${cuda}"`);
  }
  const previewMethod = last('--preview-method') ?? 'none';
  if (!['none', 'auto', 'latent2rgb', 'taesd'].includes(previewMethod)) {
    errors.push(`--preview-method: invalid choice "${previewMethod}"`);
  }

  return {
    options,
    quickTest: values.has('--quick-test-for-ci'),
    previewMethod,
    extraModelPathConfigs: values.get('--extra-model-paths-config') ?? [],
    verbose: values.has('--verbose'),
    errors,
    warnings,
  };
}
