/**
 * Benchmark runner: `npm run bench` runs every benchmark, `npm run bench -- emulator` one of them.
 * Each benchmark prints its own figures, measured side by side in one run.
 */
const benchmarks: Record<string, () => Promise<void>> = {
  emulator: async () => (await import('./emulator.js')).main(),
  monitor: async () => (await import('./monitor.js')).main(),
  scheduler: async () => (await import('./scheduler.js')).main(),
  dispatch: async () => (await import('./dispatch.js')).main(),
  overhead: async () => (await import('./overhead.js')).main(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark: ${unknown.join(', ')} (known: ${Object.keys(benchmarks).join(', ')})\n`,
  );
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(benchmarks)) {
  process.stdout.write(`\n=== bench/${name}\n`);
  await benchmarks[name]?.();
}
