/**
 * The emulator as its own process, started like ComfyUI's main.py:
 *
 *   node dist/emulator/main.js --listen 127.0.0.1 --port 8188 --cpu --speed 4
 *   node --import tsx src/emulator/main.ts --port 8189 --models "checkpoints=a.safetensors"
 *
 * Exits 1 when the port is busy (as ComfyUI does), 2 on a bad command line, 0 after SIGTERM or
 * SIGINT; --quick-test-for-ci exits 0 before binding.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseComfyArgs } from './cli-args.js';
import { defaultModels } from './defaults.js';
import { startEmulator } from './emulator.js';
import { loadExtraModelPaths } from './extra-model-paths.js';
import { createNodeRegistry } from './nodes/index.js';
import type { RunningEmulator } from './options.js';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
  const parsed = parseComfyArgs(process.argv.slice(2));
  for (const warning of parsed.warnings) log(`WARNING: ${warning}`);
  const userDir = parsed.options.userDirectory;
  if (userDir !== undefined && !(existsSync(userDir) && statSync(userDir).isDirectory())) {
    parsed.errors.push(`argument --user-directory: "${userDir}" is not a directory`);
  }
  if (parsed.errors.length > 0) {
    for (const error of parsed.errors) log(`main.py: error: ${error}`);
    process.exit(2);
  }
  const options = parsed.options;
  if (parsed.extraModelPathConfigs.length > 0) {
    const extra = await loadExtraModelPaths(parsed.extraModelPathConfigs);
    const models = options.models ?? {};
    for (const [folder, files] of Object.entries(extra)) {
      models[folder] = [...new Set([...(models[folder] ?? []), ...files])];
    }
    options.models = models;
  } else {
    options.models ??= defaultModels();
  }
  // Node packs are checked before binding, as custom nodes are imported before the server starts.
  createNodeRegistry(options.nodePacks === undefined ? {} : { packs: options.nodePacks });
  if (parsed.quickTest) {
    log('Quick test for CI: start-up complete, exiting before binding.');
    process.exit(0);
  }

  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator(options, {
      previewMethod: parsed.previewMethod,
      onExitRequest: (code) => {
        // A crash on request: no graceful close, only the temporary folder is removed.
        if (options.baseDirectory === undefined) {
          rmSync(path.dirname(emulator.dirs.input), { recursive: true, force: true });
        }
        process.exit(code);
      },
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 8188;
    if (code === 'EADDRINUSE') {
      log(
        `[Errno 98] error while attempting to bind on address ('${host}', ${port}): address already in use`,
      );
    } else {
      log(`error: ${(err as Error).message}`);
    }
    process.exit(1);
  }

  log('Starting server\n');
  log(`To see the GUI go to: ${emulator.url}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`${signal}: stopping`);
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  log(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
