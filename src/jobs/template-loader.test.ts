import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import type { Store } from '../store/store.js';
import { UPSCALE_IMAGE_TEMPLATE } from './builtin-templates.js';
import { installTemplates, readTemplateFolder } from './template-loader.js';
import type { TemplateDefinition } from './template-model.js';
import { TemplateRepository } from './template-repository.js';

let dir: string;
let folder: string;
let store: Store;
let repo: TemplateRepository;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cc-templates-'));
  folder = path.join(dir, 'templates');
  await mkdir(folder);
  store = await openStore({ kind: 'sqlite', file: path.join(dir, 'cc.db') });
  repo = new TemplateRepository(store.db);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const invert: Omit<TemplateDefinition, 'name' | 'variants'> = {
  description: 'invert an image',
  workflow: {
    '1': { class_type: 'LoadImage', inputs: { image: 'x.png' } },
    '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
    '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'inv' } },
  },
  parameters: { image: { node: '1', input: 'image', type: 'image' } },
};

async function put(name: string, content: unknown): Promise<string> {
  const file = path.join(folder, name);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('template folder', () => {
  it('loads valid files and reports the invalid ones without failing', async () => {
    await put('invert.json', invert);
    const broken = await put('broken.json', '{ not json');
    const wrong = await put('wrong.json', { workflow: {}, parameters: { x: { node: '1' } } });
    const dup = await put('zz-dup.json', { ...invert, name: 'invert' });
    await put('notes.txt', 'ignored');
    const { templates, problems } = await readTemplateFolder(folder);
    expect(templates.map((t) => t.definition.name)).toEqual(['invert']);
    expect(problems.map((p) => p.file)).toEqual([broken, wrong, dup]);
    expect(problems[0]?.errors[0]?.message).toMatch(/^not readable JSON/);
    expect(problems[1]?.errors.map((e) => e.path)).toContain('parameters.x.input');
    expect(problems[2]?.errors[0]?.message).toMatch(/already defined by .*invert\.json/);
    expect(await readTemplateFolder(path.join(dir, 'missing'))).toEqual({
      templates: [],
      problems: [],
    });
  });

  it('installs built-ins and files, lets files replace built-ins, and drops files that are gone', async () => {
    const first = await installTemplates(repo, { folder });
    expect(first).toEqual({
      files: [],
      builtins: ['upscale-image', 'remove-background'],
      removed: [],
      problems: [],
    });
    await put('invert.json', invert);
    await put('upscale-image.json', { ...UPSCALE_IMAGE_TEMPLATE, description: 'ours' });
    const second = await installTemplates(repo, { folder });
    expect(second.files.sort()).toEqual(['invert', 'upscale-image']);
    expect(second.builtins).toEqual(['remove-background']);
    expect(await repo.get('upscale-image')).toMatchObject({ source: 'file', description: 'ours' });
    expect(await repo.get('invert')).toMatchObject({
      source: 'file',
      parameters: invert.parameters,
    });

    await unlink(path.join(folder, 'upscale-image.json'));
    const third = await installTemplates(repo, { folder });
    expect(third.removed).toEqual(['upscale-image']);
    expect(await repo.get('upscale-image')).toMatchObject({ source: 'builtin' });
  });

  it('never overwrites a template created through the API', async () => {
    await repo.save({ ...invert, name: 'invert', variants: [] }, 'api');
    await put('invert.json', { ...invert, description: 'from file' });
    const report = await installTemplates(repo, { folder, builtins: false });
    expect(report.files).toEqual([]);
    expect(report.problems[0]?.errors[0]?.message).toMatch(/created through the API/);
    expect(await repo.get('invert')).toMatchObject({
      source: 'api',
      description: 'invert an image',
    });
  });

  it('repository refuses unusable definitions and names unknown templates', async () => {
    await expect(
      repo.save({ name: 'x', description: '', workflow: {}, parameters: {}, variants: [] }, 'api'),
    ).rejects.toMatchObject({ code: 'TEMPLATE_INVALID' });
    await installTemplates(repo);
    await expect(repo.getOrThrow('upscale')).rejects.toThrow(
      'no template named "upscale" (known: remove-background, upscale-image)',
    );
    expect(await repo.delete('upscale-image')).toBe(true);
    expect(await repo.delete('upscale-image')).toBe(false);
  });
});
