/** `comfy-cluster status` as child processes against a live gateway with 3 emulated instances. */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliGateway, startCliGateway } from '../testing/cli-gateway.js';
import { runCli } from '../testing/run-cli.js';

let gw: CliGateway;
beforeAll(async () => {
  gw = await startCliGateway({ emulators: 3 });
});
afterAll(async () => {
  await gw?.close();
});

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('comfy-cluster status', { timeout: 60_000 }, () => {
  it('lists every instance with its figures (--json), as a table, and refreshes with --watch', async () => {
    const [json, human, watched] = await Promise.all([
      runCli(['status', '--json', '--url', gw.url]),
      runCli(['status'], { env: { COMFY_CLUSTER_URL: gw.url } }),
      runCli(['status', '--json', '--watch-count', '2', '--interval', '0.2', '--url', gw.url]),
    ]);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout) as {
      url: string;
      instances: Record<string, unknown>[];
      summary: Record<string, unknown>;
    };
    expect(status.url).toBe(gw.url);
    expect(status.instances.map((i) => i.name)).toEqual(['quick-1', 'quick-2', 'quick-3']);
    expect(status.instances.map((i) => i.address)).toEqual(gw.emulators.map((e) => e.url));
    for (const i of status.instances) {
      expect(Object.keys(i)).toEqual([
        'id',
        'name',
        'address',
        'kind',
        'status',
        'health',
        'active',
        'queue',
        'processing',
        'response_ms',
        'last_error',
      ]);
      expect(i).toMatchObject({ status: 'running', health: 'healthy', queue: 0, processing: 0 });
      expect(i.response_ms).toEqual(expect.any(Number));
    }
    expect(status.summary).toEqual({
      instances: 3,
      healthy: 3,
      jobs_pending: 0,
      jobs_processing: 0,
      jobs_counts_capped: false,
    });

    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+HEALTH\s+QUEUE\s+PROCESSING\s+RESPONSE TIME$/);
    expect(lines[1]).toMatch(/^quick-1 \*\s+running\s+healthy\s+0\s+0\s+\d+ ms$/);
    expect(lines.at(-1)).toBe(`0 pending, 0 processing · healthy 3/3 · ${gw.url}`);

    // --watch with --json: one JSON document a refresh, nothing else.
    expect(watched.code).toBe(0);
    const frames = watched.stdout.trim().split('\n');
    expect(frames).toHaveLength(2);
    for (const f of frames)
      expect((JSON.parse(f) as { instances: unknown[] }).instances).toHaveLength(3);
  });

  it('exits 3 in one line when the gateway is unreachable, 2 on bad flags', async () => {
    const port = await closedPort();
    const [down, badFlag, badUrl, badInterval] = await Promise.all([
      runCli(['status', '--url', `http://127.0.0.1:${port}`]),
      runCli(['status', '--bogus']),
      runCli(['status', '--url', 'ftp://x']),
      runCli(['status', '--watch', '--interval', 'soon', '--url', gw.url]),
    ]);
    expect(down.code).toBe(3);
    expect(down.stderr).toBe(
      `comfy-cluster status: gateway not reachable at http://127.0.0.1:${port} — is \`comfy-cluster serve\` running? (another address: --url or COMFY_CLUSTER_URL)\n`,
    );
    expect(down.stdout).toBe('');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toBe("comfy-cluster: error: unknown option '--bogus' (see --help)\n");
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/^comfy-cluster status: --url must be an http\(s\) address/);
    expect(badInterval.code).toBe(2);
    expect(badInterval.stderr).toMatch(/--interval must be a number of seconds/);
  });
});
