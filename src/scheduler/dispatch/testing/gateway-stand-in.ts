/**
 * A gateway process without HTTP, for crash tests: opens the store, registry, monitor and
 * dispatcher over `--dir`, optionally submits `--submit N` jobs (idempotency keys `job-<i>`, so a
 * second run submitting again changes nothing), prints `ready` and `accepted <n>` lines, and runs
 * until killed (SIGTERM: clean stop).
 *
 * node --import tsx src/scheduler/dispatch/testing/gateway-stand-in.ts --dir /tmp/x --ports 8190,8191 --submit 200
 */
import { openGateway } from './gateway.js';
import { txt2img } from './workflows.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const dir = arg('dir');
if (!dir) {
  process.stderr.write('usage: gateway-stand-in --dir <dir> --ports <p1,p2> [--submit N]\n');
  process.exit(2);
}
const ports = (arg('ports') ?? '')
  .split(',')
  .filter((p) => p !== '')
  .map(Number);
const submit = Number(arg('submit') ?? '0');

const gw = await openGateway({
  dir,
  instances: ports.map((port, i) => ({ name: `emu${i}`, port, max_concurrent: 1, prefetch: 1 })),
  runner: { pollIntervalMs: 300 },
});
await gw.ready(30_000);
process.stdout.write('ready\n');
let accepted = 0;
for (let i = 0; i < submit; i++) {
  await gw.service.submit({
    workflow: txt2img({ steps: 4, prefix: `job-${i}`, seed: i }),
    idempotency_key: `job-${i}`,
  });
  accepted++;
}
process.stdout.write(`accepted ${accepted}\n`);

process.on('SIGTERM', () => {
  gw.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
// Stay alive until killed.
setInterval(() => {}, 60_000);
