/**
 * `comfy-cluster jobs`, `templates` and `config` as child processes against a live gateway;
 * what they changed is checked through the SDK.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../client/index.js';
import { type CliGateway, startCliGateway } from '../testing/cli-gateway.js';
import { runCli } from '../testing/run-cli.js';

let gw: CliGateway;
let client: ClusterClient;
beforeAll(async () => {
  gw = await startCliGateway({ emulators: 1 });
  client = new ClusterClient({ url: gw.url });
});
afterAll(async () => {
  await gw?.close();
});

const cli = (...args: string[]) => runCli([...args, '--url', gw.url]);

const workflow = (color: number) => ({
  '1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 1, color } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'cli_jobs' } },
});

describe('comfy-cluster jobs, templates, config', { timeout: 90_000 }, () => {
  it('lists, shows, cancels and retries jobs', async () => {
    const [instance] = await client.listInstances();
    const id = instance?.id as string;
    // A paused fleet keeps jobs pending, so there is one to cancel.
    await client.instanceAction(id, 'pause');
    const done = await client.submit({ workflow: workflow(1) });
    const waiting = await client.submit({ workflow: workflow(2) });
    try {
      const [listed, listedJson, badStatus] = await Promise.all([
        cli('jobs', 'list', '--status', 'pending'),
        cli('jobs', 'list', '--json', '--limit', '1'),
        cli('jobs', 'list', '--status', 'sleeping'),
      ]);
      const cancelled = await cli('jobs', 'cancel', waiting.job_id);
      expect(listed.code).toBe(0);
      expect(listed.stdout.split('\n')[0]).toMatch(
        /^ID\s+STATUS\s+PROGRESS\s+INSTANCE\s+TEMPLATE\s+CREATED\s+TIME$/,
      );
      expect(listed.stdout).toContain(waiting.job_id.slice(0, 8));
      const page = JSON.parse(listedJson.stdout) as { jobs: { id: string }[]; next_cursor: string };
      expect(page.jobs.map((j) => j.id)).toEqual([waiting.job_id]);
      expect(page.next_cursor).toEqual(expect.any(String));
      expect(cancelled.stdout).toBe(`Cancelled job ${waiting.job_id}\n`);
      expect((await client.getJob(waiting.job_id)).status).toBe('cancelled');
      expect(badStatus.code).toBe(2);
      expect(badStatus.stderr).toMatch(
        /--status takes pending, processing, completed, failed, cancelled/,
      );
    } finally {
      await client.instanceAction(id, 'resume');
    }
    await client.wait(done.job_id, { timeoutMs: 20_000 });

    const out = path.join(gw.dir, 'shown');
    const [retried, shown, notFound] = await Promise.all([
      cli('jobs', 'retry', waiting.job_id, '--wait'),
      cli('jobs', 'show', done.job_id, '--out', out),
      cli('jobs', 'show', 'no-such-job'),
    ]);
    expect(retried.code).toBe(0);
    const newId = /as job ([0-9a-f-]{36})/.exec(retried.stdout)?.[1] as string;
    expect((await client.getJob(newId)).retry_of).toBe(waiting.job_id);
    expect(retried.stdout).toMatch(/: completed · on quick-1\n/);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^id:\s+[0-9a-f-]{36}\nstatus:\s+completed\n/);
    expect(shown.stdout).toMatch(
      /outputs:\n#\s+NODE\s+FILE\s+SIZE\s+TYPE\n0\s+2\s+cli_jobs_\d+_\.png/,
    );
    const saved = /saved (\S+) /.exec(shown.stdout)?.[1] as string;
    const download = await client.downloadOutput(done.job_id, 0);
    expect(await readFile(saved)).toEqual(
      Buffer.from(await new Response(download.stream).arrayBuffer()),
    );
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toBe('comfy-cluster jobs show: no job no-such-job\n');
  });

  it('adds a template from a workflow, runs it with --param, removes it', async () => {
    const file = path.join(gw.dir, 'solid.json');
    await writeFile(file, JSON.stringify(workflow(0)));
    const added = await cli('templates', 'add', file, '--name', 'solid', '--bind', 'color=1.color');
    expect(added.stdout).toBe('Added template solid (parameters: color)\n');
    expect((await client.getTemplate('solid')).parameters.color).toMatchObject({
      node: '1',
      input: 'color',
      type: 'integer',
      default: 0,
    });
    const [ran, listed, unknownParam] = await Promise.all([
      cli('templates', 'run', 'solid', '--param', 'color=255', '--wait', '--json'),
      cli('templates', 'list'),
      cli('templates', 'run', 'solid', '--param', 'colour=1'),
    ]);
    expect(ran.code).toBe(0);
    const [row] = JSON.parse(ran.stdout) as { job: { template: unknown; status: string } }[];
    expect(row?.job).toMatchObject({
      status: 'completed',
      template: { name: 'solid', params: { color: 255 } },
    });
    expect(listed.stdout).toMatch(/^solid\s+api\s+color\s*$/m);
    expect(unknownParam.code).toBe(2);
    expect(unknownParam.stderr.trimEnd().split('\n')).toHaveLength(1);

    const removed = await cli('templates', 'rm', 'solid');
    expect(removed.stdout).toBe('Removed template solid\n');
    expect((await client.listTemplates()).map((t) => t.name)).not.toContain('solid');
  });

  it('exports the instance list and imports it back', async () => {
    const file = path.join(gw.dir, 'exported.json');
    const exported = await cli('config', 'export', '-o', file);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toBe(`wrote ${file} (credentials redacted)\n`);
    const doc = JSON.parse(await readFile(file, 'utf8')) as { instances: { name: string }[] };
    expect(doc.instances.map((i) => i.name)).toEqual(['quick-1']);

    // The copy gets a second instance; importing it (merge) adds that one only.
    const copy = structuredClone(doc) as { instances: Record<string, unknown>[] };
    copy.instances.push({ ...copy.instances[0], id: 'second', name: 'second', port: 1 });
    const edited = path.join(gw.dir, 'edited.json');
    await writeFile(edited, JSON.stringify(copy));
    const [imported, path_] = await Promise.all([
      cli('config', 'import', edited, '--merge', '--json'),
      runCli(['config', 'path', '--json'], {
        env: {
          COMFY_CLUSTER_CONFIG: path.join(gw.dir, 'x.json'),
          COMFY_CLUSTER_DATA_DIR: gw.dataDir,
        },
      }),
    ]);
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ added: ['second'], removed: [] });
    expect((await client.listInstances()).map((i) => i.name)).toEqual(['quick-1', 'second']);
    expect(JSON.parse(path_.stdout)).toEqual({
      config_file: path.join(gw.dir, 'x.json'),
      data_dir: gw.dataDir,
    });
  });
});
