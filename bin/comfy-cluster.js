#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Output files are fsynced on libuv's thread pool (4 threads by default); a busy gateway queues
// behind them. Set before anything touches the pool, and only when the user has not chosen.
process.env.UV_THREADPOOL_SIZE ??= '16';

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write(
    'comfy-cluster: not built yet — run `npm run build` in the package folder\n',
  );
  process.exit(2);
}
await import(entry);
