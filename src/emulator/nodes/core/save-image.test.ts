import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiPrompt } from '../../../comfy/protocol.js';
import { decodePng, readPngText, solidImage, Tensor } from '../../images/index.js';
import { createNodeRegistry } from '../index.js';
import { createTestContext, type TestContext } from '../testing/test-context.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const recordings = path.resolve(repoRoot, '../shared/comfyui-protocol');

function recordedBinary(file: string, exchange: string): Buffer {
  const data = JSON.parse(readFileSync(path.join(recordings, file), 'utf8')) as {
    exchanges: Array<{ name: string; response: { body_binary?: { base64?: string } } }>;
  };
  const e = data.exchanges.find((x) => x.name === exchange);
  return Buffer.from(e?.response.body_binary?.base64 ?? '', 'base64');
}

let ctx: TestContext | undefined;
afterEach(() => ctx?.cleanup());

function node(name: string, registry = createNodeRegistry()) {
  const def = registry.get(name);
  if (!def) throw new Error(`no ${name}`);
  return def;
}

describe('SaveImage', () => {
  const prompt: ApiPrompt = {
    '1': {
      class_type: 'EmptyImage',
      inputs: { width: 64, height: 64, batch_size: 1, color: 16776406 },
    },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'gw_empty' } },
  };

  it('writes the same bytes as a real ComfyUI 0.8.0 (prompt text chunk, level 4)', async () => {
    ctx = createTestContext({ prompt, nodeId: '2' });
    const registry = createNodeRegistry();
    const image = (await node('EmptyImage', registry).run(prompt['1']?.inputs ?? {}, ctx))
      .outputs[0];
    const result = await node('SaveImage', registry).run(
      { images: image, filename_prefix: 'gw_empty' },
      ctx,
    );
    expect(result.ui).toEqual({
      images: [{ filename: 'gw_empty_00001_.png', subfolder: '', type: 'output' }],
    });
    const written = readFileSync(path.join(ctx.dirs.output, 'gw_empty_00001_.png'));
    const recorded = recordedBinary('http_view.json', 'view output PNG');
    expect(recorded.length).toBe(382);
    expect(written.equals(recorded)).toBe(true);
  });

  it('writes one text chunk per extra_pnginfo key, readable back', async () => {
    ctx = createTestContext({
      prompt,
      extraData: { extra_pnginfo: { workflow: { note: 'gw', é: 1 }, other: [1, 2.5] } },
    });
    const def = node('SaveImage');
    await def.run({ images: solidImage(4, 4, 1, 0), filename_prefix: 'meta' }, ctx);
    const text = readPngText(readFileSync(path.join(ctx.dirs.output, 'meta_00001_.png')));
    expect(Object.keys(text)).toEqual(['prompt', 'workflow', 'other']);
    expect(text.workflow).toBe('{"note": "gw", "\\u00e9": 1}');
    expect(text.other).toBe('[1, 2.5]');
    expect(JSON.parse(text.prompt ?? '')).toEqual(prompt);
  });

  it('continues numbering after existing files and keeps counting in memory', async () => {
    ctx = createTestContext();
    writeFileSync(path.join(ctx.dirs.output, 'run_00007_.png'), '');
    writeFileSync(path.join(ctx.dirs.output, 'run_00003_.png'), '');
    writeFileSync(path.join(ctx.dirs.output, 'runner_00099_.png'), '');
    const def = node('SaveImage');
    const first = await def.run({ images: solidImage(2, 2, 2, 0), filename_prefix: 'run' }, ctx);
    const second = await def.run({ images: solidImage(2, 2, 1, 0), filename_prefix: 'run' }, ctx);
    const names = [first, second].flatMap((r) =>
      (r.ui?.images ?? []).map((i) => (i as { filename: string }).filename),
    );
    expect(names).toEqual(['run_00008_.png', 'run_00009_.png', 'run_00010_.png']);
  });

  it('notices files written behind its back', async () => {
    ctx = createTestContext();
    const def = node('SaveImage');
    await def.run({ images: solidImage(2, 2, 1, 0), filename_prefix: 'p' }, ctx);
    writeFileSync(path.join(ctx.dirs.output, 'p_00002_.png'), '');
    writeFileSync(path.join(ctx.dirs.output, 'p_00005_.png'), '');
    const r = await def.run({ images: solidImage(2, 2, 1, 0), filename_prefix: 'p' }, ctx);
    expect(r.ui?.images).toEqual([{ filename: 'p_00006_.png', subfolder: '', type: 'output' }]);
  });

  it('never overwrites a file written behind its back in the middle of a batch', async () => {
    ctx = createTestContext();
    const def = node('SaveImage');
    await def.run({ images: solidImage(2, 2, 1, 0), filename_prefix: 'q' }, ctx);
    writeFileSync(path.join(ctx.dirs.output, 'q_00003_.png'), 'theirs');
    const r = await def.run({ images: solidImage(2, 2, 2, 0), filename_prefix: 'q' }, ctx);
    expect(r.ui?.images).toEqual([
      { filename: 'q_00002_.png', subfolder: '', type: 'output' },
      { filename: 'q_00004_.png', subfolder: '', type: 'output' },
    ]);
    expect(readFileSync(path.join(ctx.dirs.output, 'q_00003_.png'), 'utf8')).toBe('theirs');
  });

  it('puts a prefix with a folder into that subfolder and expands date variables', async () => {
    ctx = createTestContext();
    const def = node('SaveImage');
    const r = await def.run(
      { images: solidImage(3, 2, 1, 0), filename_prefix: 'jobs/%year%/img_%width%x%height%' },
      ctx,
    );
    const year = String(new Date().getFullYear());
    expect(r.ui?.images).toEqual([
      { filename: 'img_3x2_00001_.png', subfolder: `jobs/${year}`, type: 'output' },
    ]);
    expect(existsSync(path.join(ctx.dirs.output, 'jobs', year, 'img_3x2_00001_.png'))).toBe(true);
  });

  it('refuses to write outside the output folder', async () => {
    ctx = createTestContext();
    const def = node('SaveImage');
    await expect(
      def.run({ images: solidImage(2, 2, 1, 0), filename_prefix: '../escape' }, ctx),
    ).rejects.toMatchObject({
      exceptionType: 'Exception',
      message: expect.stringContaining('Saving image outside the output folder is not allowed.'),
    });
    expect(readdirSync(ctx.root)).not.toContain('escape_00001_.png');
  });

  it('saves RGBA images with their alpha channel', async () => {
    ctx = createTestContext();
    const withAlpha = new Tensor([1, 1, 2, 4], Float32Array.of(1, 0, 0, 1, 0, 0, 1, 0.5));
    await node('SaveImage').run({ images: withAlpha, filename_prefix: 'a' }, ctx);
    const png = decodePng(readFileSync(path.join(ctx.dirs.output, 'a_00001_.png')));
    expect(png.hasAlpha).toBe(true);
    expect([...png.rgba]).toEqual([255, 0, 0, 255, 0, 0, 255, 127]);
  });
});

describe('PreviewImage', () => {
  it('writes to temp with a random _temp_ suffix and type "temp"', async () => {
    ctx = createTestContext();
    const r = await node('PreviewImage').run({ images: solidImage(2, 2, 1, 0) }, ctx);
    const [entry] = (r.ui?.images ?? []) as Array<{
      filename: string;
      subfolder: string;
      type: string;
    }>;
    expect(entry?.filename).toMatch(/^ComfyUI_temp_[a-z]{5}_00001_\.png$/);
    expect(entry?.type).toBe('temp');
    expect(existsSync(path.join(ctx.dirs.temp, entry?.filename ?? ''))).toBe(true);
  });

  it('creates the temp folder when it is missing', async () => {
    ctx = createTestContext();
    const dirs = { ...ctx.dirs, temp: path.join(ctx.root, 'later', 'temp') };
    const r = await node('PreviewImage').run({ images: solidImage(1, 1, 1, 0) }, { ...ctx, dirs });
    expect(r.ui?.images).toHaveLength(1);
    expect(readdirSync(dirs.temp)).toHaveLength(1);
  });
});

describe('SaveImageWebsocket', () => {
  it('sends each image as a PNG preview, byte-identical to the recording, with progress', async () => {
    ctx = createTestContext();
    const images = solidImage(16, 8, 2, 255);
    const r = await node('SaveImageWebsocket').run({ images }, ctx);
    expect(r.ui).toBeUndefined();
    expect(ctx.progressCalls).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(ctx.previews).toHaveLength(2);
    for (const p of ctx.previews) {
      expect(p.mime).toBe('image/png');
      expect(createHash('sha256').update(p.image).digest('hex')).toBe(
        '4a7723c9e85b98cda9b7f80c8e07e7605e8a4762d67ed14415e9c34dd9958217',
      );
    }
  });

  it('is never cached', () => {
    const def = node('SaveImageWebsocket');
    expect(
      Number.isNaN(def.isChanged?.({}, { dirs: { input: '', output: '', temp: '' }, models: {} })),
    ).toBe(true);
  });
});
