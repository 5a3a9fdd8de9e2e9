/**
 * `comfy-cluster submit` as child processes against a live gateway with emulated instances:
 * outputs written byte for byte, plain progress lines off a terminal, failures, usage errors and
 * Ctrl-C during --wait.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../client/index.js';
import { type CliGateway, startCliGateway } from '../testing/cli-gateway.js';
import { runCli, startCli } from '../testing/run-cli.js';

let gw: CliGateway;
let work: string;
beforeAll(async () => {
  gw = await startCliGateway({ emulators: 2 });
  work = gw.dir;
});
afterAll(async () => {
  await gw?.close();
});

const image = (color: number, prefix: string) => ({
  '1': {
    class_type: 'EmptyImage',
    inputs: { width: 48, height: 32, batch_size: 1, color },
  },
  '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
  '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: prefix } },
});

async function file(name: string, content: unknown): Promise<string> {
  const p = path.join(work, name);
  await writeFile(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

/** The bytes of a file an emulator saved, by name, from whichever instance ran it. */
async function emulatorOutput(name: string): Promise<Buffer> {
  for (const e of gw.emulators) {
    const names = await readdir(e.dirs.output).catch(() => [] as string[]);
    if (names.includes(name)) return readFile(path.join(e.dirs.output, name));
  }
  throw new Error(`no emulator saved ${name}`);
}

describe('comfy-cluster submit', { timeout: 90_000 }, () => {
  it('submits several workflows and an upload, shows plain progress lines, and --out writes the outputs byte for byte', async () => {
    const a = await file('red.json', image(0xff0000, 'cli_red'));
    const b = await file('blue.json', { prompt: image(0x0000ff, 'cli_blue') });
    const png = new PNG({ width: 4, height: 4 });
    png.data.fill(200);
    const cat = path.join(work, 'cat.png');
    await writeFile(cat, PNG.sync.write(png));
    const upload = await file('upload.json', {
      '1': { class_type: 'LoadImage', inputs: { image: 'in.png' } },
      '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
      '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'cli_upload' } },
    });
    const out = path.join(work, 'out');
    const outUpload = path.join(work, 'out-upload');
    const [several, uploaded] = await Promise.all([
      runCli(['submit', a, b, '--out', out, '--url', gw.url]),
      runCli(['submit', upload, '--input', `in.png=${cat}`, '--out', outUpload, '--url', gw.url]),
    ]);
    expect(several.stderr).toBe('');
    expect(several.code).toBe(0);
    const lines = several.stdout.trimEnd().split('\n');
    // Not a terminal: one plain line per change, each job labelled by file and job id.
    expect(lines[0]).toMatch(/^red\.json: submitted as job [0-9a-f-]{36}/);
    expect(lines[1]).toMatch(/^blue\.json: submitted as job [0-9a-f-]{36}/);
    expect(lines).toContainEqual(expect.stringMatching(/^red\.json [0-9a-f]{8}: pending$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^red\.json [0-9a-f]{8}: completed · on quick-[12]$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^blue\.json [0-9a-f]{8}: completed · on quick-[12]$/),
    );
    expect(several.stdout).not.toContain('\u001b['); // no terminal escapes
    const saved = lines.filter((l) => l.startsWith('saved '));
    expect(saved).toHaveLength(2);
    for (const name of await readdir(out)) {
      expect(saved).toContainEqual(expect.stringContaining(path.join(out, name)));
      expect(await readFile(path.join(out, name))).toEqual(await emulatorOutput(name));
    }
    expect((await readdir(out)).sort()).toEqual(['cli_blue_00001_.png', 'cli_red_00001_.png']);

    expect(uploaded.stderr).toBe('');
    expect(uploaded.code).toBe(0);
    const [name] = await readdir(outUpload);
    expect(name).toBe('cli_upload_00001_.png');
    const result = PNG.sync.read(await readFile(path.join(outUpload, name as string)));
    // Our 4×4 grey 200 image, inverted (255 - 200, give or take float rounding).
    expect([result.width, result.height]).toEqual([4, 4]);
    expect(Math.abs((result.data[0] ?? 0) - 55)).toBeLessThanOrEqual(1);
  });

  it('exits 1 with the node error in one line when the job fails; --json prints the final job', async () => {
    const broken = await file('broken.json', {
      '1': { class_type: 'EmptyImage', inputs: { width: 32, height: 32, batch_size: 1, color: 0 } },
      '2': { class_type: 'ImageToMask', inputs: { image: ['1', 0], channel: 'alpha' } },
      '3': { class_type: 'MaskToImage', inputs: { mask: ['2', 0] } },
      '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'gw_err' } },
    });
    const [human, json] = await Promise.all([
      runCli(['submit', broken, '--wait', '--url', gw.url]),
      runCli(['submit', broken, '--wait', '--json', '--url', gw.url]),
    ]);
    expect(human.code).toBe(1);
    const errors = human.stderr.trimEnd().split('\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^comfy-cluster submit: job [0-9a-f-]{36} failed: node 2 \(ImageToMask\): /,
    );
    expect(human.stdout).toMatch(/broken\.json: failed · on quick-[12] · node 2 \(ImageToMask\)/);
    expect(json.code).toBe(1);
    const [row] = JSON.parse(json.stdout) as { status: string; job: { error: unknown } }[];
    expect(row?.status).toBe('failed');
    expect(row?.job.error).toMatchObject({ node_id: '2', node_class: 'ImageToMask' });
  });

  it('refuses bad input with one line and exit 2, sending nothing', async () => {
    const ui = await file('ui.json', { last_node_id: 3, nodes: [], links: [] });
    const ok = await file('ok.json', image(1, 'never_sent'));
    const results = await Promise.all([
      runCli(['submit', ui, '--url', gw.url]),
      runCli(['submit', ok, '--input', `in.png=${path.join(work, 'nope.png')}`, '--url', gw.url]),
    ]);
    for (const r of results) {
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    expect(results[0]?.stderr).toMatch(
      /^comfy-cluster submit: .*ui\.json is a ComfyUI UI workflow .*export it in API format/,
    );
    expect(results[1]?.stderr).toMatch(/--input in\.png: cannot read .*nope\.png/);
    const client = new ClusterClient({ url: gw.url });
    const sent = (await client.listJobs({ limit: 500 })).jobs.map((j) =>
      JSON.stringify(j.workflow),
    );
    expect(sent.join()).not.toContain('never_sent');
  });

  it('Ctrl-C during --wait leaves the job running and says how to follow or cancel it (exit 130)', async () => {
    const client = new ClusterClient({ url: gw.url });
    const ids = (await client.listInstances()).map((i) => i.id);
    // Paused instances take nothing new: the job waits in the gateway until resumed.
    for (const id of ids) await client.instanceAction(id, 'pause');
    try {
      const wf = await file('waiting.json', image(0x00ff00, 'cli_wait'));
      const run = startCli(['submit', wf, '--wait', '--url', gw.url]);
      for (let i = 0; i < 600 && !/: pending$/m.test(run.stdout()); i++) {
        if (run.child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(run.stdout()).toMatch(/waiting\.json: pending/);
      run.child.kill('SIGINT');
      const result = await run.done;
      expect(result.code).toBe(130);
      const id = /submitted as job ([0-9a-f-]{36})/.exec(result.stdout)?.[1] as string;
      expect(result.stderr).toBe(
        `job ${id} is still running — follow it: comfy-cluster jobs watch ${id}, cancel it: comfy-cluster jobs cancel ${id}\n`,
      );
      expect((await client.getJob(id)).status).toBe('pending');
      for (const i of ids) await client.instanceAction(i, 'resume');
      const done = await client.wait(id, { timeoutMs: 20_000 });
      expect(done.status).toBe('completed');
    } finally {
      for (const id of ids) await client.instanceAction(id, 'resume').catch(() => undefined);
    }
  });
});
