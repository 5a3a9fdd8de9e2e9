import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from './cli-error.js';
import { readWorkflow } from './commands/submit.js';
import { parseInputs, parseParams } from './submit-jobs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cc-submit-args-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The usage error (exit 2) a call throws, as its message. */
function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('parseParams', () => {
  it('reads values as JSON when they parse, else as text', () => {
    expect(
      parseParams([
        'scale=2',
        'on=true',
        'name=lanczos',
        'list=[1,2]',
        'quoted="2"',
        'eq=a=b',
        'empty=',
      ]),
    ).toEqual({
      scale: 2,
      on: true,
      name: 'lanczos',
      list: [1, 2],
      quoted: '2',
      eq: 'a=b',
      empty: '',
    });
  });

  it('refuses a pair without a name', () => {
    expect(usage(() => parseParams(['=1']))).toBe('--param takes NAME=VALUE (got "=1")');
    expect(usage(() => parseParams(['scale']))).toBe('--param takes NAME=VALUE (got "scale")');
  });
});

describe('parseInputs', () => {
  it('takes NAME=FILE or FILE (named after the file) and checks the file is readable', async () => {
    const file = path.join(dir, 'cat.png');
    await writeFile(file, 'png');
    expect(parseInputs([`image=${file}`, file])).toEqual([
      { name: 'image', file },
      { name: 'cat.png', file },
    ]);
    expect(usage(() => parseInputs([`image=${path.join(dir, 'none.png')}`]))).toMatch(
      /^--input image: cannot read .*none\.png$/,
    );
    expect(usage(() => parseInputs([`dir=${dir}`]))).toMatch(/^--input dir: cannot read/);
    expect(usage(() => parseInputs(['image=']))).toBe(
      '--input takes NAME=FILE or FILE (got "image=")',
    );
  });
});

describe('readWorkflow', () => {
  it('reads API format, unwraps {"prompt": ...}, and refuses anything else naming the file', async () => {
    const api = { '1': { class_type: 'EmptyImage', inputs: {} } };
    const write = async (name: string, text: string) => {
      const p = path.join(dir, name);
      await writeFile(p, text);
      return p;
    };
    expect(readWorkflow(await write('api.json', JSON.stringify(api)))).toEqual(api);
    expect(readWorkflow(await write('prompt.json', JSON.stringify({ prompt: api })))).toEqual(api);
    expect(usage(() => readWorkflow(path.join(dir, 'missing.json')))).toMatch(
      /^cannot read .*missing\.json: no such file$/,
    );
    expect(usage(() => readWorkflow(dir))).toMatch(/: it is a folder$/);
    const notJson = await write('text.json', 'not json');
    expect(usage(() => readWorkflow(notJson))).toMatch(/^.*text\.json is not valid JSON: /);
    const ui = await write('ui.json', JSON.stringify({ nodes: [], links: [] }));
    expect(usage(() => readWorkflow(ui))).toMatch(/is a ComfyUI UI workflow .*Export \(API\)/);
    const list = await write('list.json', '[1]');
    expect(usage(() => readWorkflow(list))).toMatch(/a workflow is a JSON object of nodes/);
    const empty = await write('empty.json', '{}');
    expect(usage(() => readWorkflow(empty))).toMatch(/the workflow has no nodes/);
    const noClass = await write('noclass.json', JSON.stringify({ '1': { inputs: {} } }));
    expect(usage(() => readWorkflow(noClass))).toMatch(/node "1" has no class_type/);
  });
});
