/**
 * Model lists from ComfyUI's extra_model_paths.yaml files (--extra-model-paths-config): the
 * simple layout ComfyUI documents (sections of `folder: path` or `folder: |` path blocks, with
 * optional base_path), read without a YAML library, then the files found in those folders.
 */
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { ModelLists } from './nodes/types.js';

const MODEL_EXTENSIONS = new Set([
  '.ckpt',
  '.pt',
  '.pt2',
  '.bin',
  '.pth',
  '.safetensors',
  '.pkl',
  '.sft',
]);
const LEGACY_NAMES: Record<string, string> = { clip: 'text_encoders', unet: 'diffusion_models' };
// Folders ComfyUI lists without an extension filter.
const UNFILTERED = new Set(['configs', 'custom_nodes']);

type Sections = Record<string, Record<string, string>>;

/**
 * Parses the two-level YAML subset used by extra_model_paths.yaml.
 *
 * @example
 * parseExtraModelPaths('a:\n  base_path: /m\n  loras: |\n    loras\n    more\n');
 * // { a: { base_path: '/m', loras: 'loras\nmore' } }
 */
export function parseExtraModelPaths(text: string): Sections {
  const sections: Sections = {};
  let section: Record<string, string> | undefined;
  let blockKey: string | undefined;
  let blockIndent = -1;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/\s+#.*$/, '');
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const indent = line.length - line.trimStart().length;
    if (blockKey !== undefined && section !== undefined) {
      if (blockIndent < 0 && indent > 0) blockIndent = indent;
      if (blockIndent > 0 && indent >= blockIndent) {
        const previous = section[blockKey] ?? '';
        section[blockKey] = previous === '' ? line.trim() : `${previous}\n${line.trim()}`;
        continue;
      }
      blockKey = undefined;
    }
    const match = /^(\s*)([^:]+):\s*(.*)$/.exec(line);
    if (match === null) throw new Error(`cannot read line "${rawLine.trim()}"`);
    const key = (match[2] ?? '').trim();
    const value = unquote((match[3] ?? '').trim());
    if (indent === 0) {
      section = {};
      sections[key] = section;
      continue;
    }
    if (section === undefined) throw new Error(`"${key}" is outside of a section`);
    if (value === '|' || value === '|-' || value === '>') {
      blockKey = key;
      blockIndent = -1;
      section[key] = '';
    } else {
      section[key] = value;
    }
  }
  return sections;
}

function unquote(value: string): string {
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
    return value.slice(1, -1);
  }
  return value;
}

function expand(p: string): string {
  const withHome = p === '~' || p.startsWith('~/') ? path.join(homedir(), p.slice(1)) : p;
  return withHome.replace(/\$(\w+)|\$\{(\w+)\}/g, (all, a: string, b: string) => {
    return process.env[a ?? b] ?? all;
  });
}

async function listFiles(dir: string, filter: boolean): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string, prefix: string): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) await walk(path.join(current, entry.name), rel);
      else if (!filter || MODEL_EXTENSIONS.has(path.extname(entry.name).toLowerCase()))
        out.push(rel);
    }
  };
  await walk(dir, '');
  return out;
}

/**
 * Reads extra_model_paths.yaml files and lists the model files they point at.
 *
 * @example
 * const models = await loadExtraModelPaths(['/etc/comfy/extra_model_paths.yaml']);
 */
export async function loadExtraModelPaths(files: readonly string[]): Promise<ModelLists> {
  const models: ModelLists = {};
  for (const file of files) {
    const yamlDir = path.dirname(path.resolve(file));
    const sections = parseExtraModelPaths(await readFile(file, 'utf8'));
    for (const section of Object.values(sections)) {
      let base = section.base_path === undefined ? yamlDir : expand(section.base_path);
      if (!path.isAbsolute(base)) base = path.resolve(yamlDir, base);
      for (const [key, value] of Object.entries(section)) {
        if (key === 'base_path' || key === 'is_default') continue;
        const folder = LEGACY_NAMES[key] ?? key;
        for (const entry of value
          .split('\n')
          .map((p) => p.trim())
          .filter((p) => p !== '')) {
          const dir = path.resolve(base, expand(entry));
          const found = await listFiles(dir, !UNFILTERED.has(folder));
          const list = models[folder] ?? [];
          for (const name of found) if (!list.includes(name)) list.push(name);
          models[folder] = list;
        }
      }
    }
  }
  return models;
}
