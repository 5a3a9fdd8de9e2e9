import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Value } from 'typebox/value';
import { BUILTIN_TEMPLATES } from './builtin-templates.js';
import {
  type TemplateDefinition,
  TemplateDefinitionSchema,
  type TemplateProblem,
  templateProblems,
} from './template-model.js';
import type { TemplateRepository } from './template-repository.js';

/** A template file that could not be used, and why. */
export interface TemplateFileProblem {
  file: string;
  errors: TemplateProblem[];
}

/** What {@link installTemplates} did. */
export interface TemplateInstallReport {
  /** Names saved from the folder. */
  files: string[];
  /** Built-in names saved (those not replaced by a file or API template). */
  builtins: string[];
  /** `file` templates whose file is gone, deleted from the store. */
  removed: string[];
  /** Files that were skipped; the others still load. */
  problems: TemplateFileProblem[];
}

/**
 * Reads every `*.json` file of a folder as one template definition. The name defaults to the
 * file name without `.json`. Invalid files (bad JSON, wrong shape, unusable parameters, a name
 * used twice) are reported and skipped; a missing folder is simply empty.
 *
 * @example
 * const { templates, problems } = await readTemplateFolder(path.join(configDir, 'templates'));
 */
export async function readTemplateFolder(dir: string): Promise<{
  templates: Array<{ file: string; definition: TemplateDefinition }>;
  problems: TemplateFileProblem[];
}> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { templates: [], problems: [] };
    throw err;
  }
  const templates: Array<{ file: string; definition: TemplateDefinition }> = [];
  const problems: TemplateFileProblem[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    const file = path.join(dir, name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      problems.push({
        file,
        errors: [{ path: '', message: `not readable JSON: ${(err as Error).message}` }],
      });
      continue;
    }
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const obj = parsed as Record<string, unknown>;
      if (obj.name === undefined) obj.name = name.slice(0, -'.json'.length);
    }
    const filled = Value.Default(TemplateDefinitionSchema, parsed);
    const errors = templateProblems(filled);
    if (errors.length > 0) {
      problems.push({ file, errors });
      continue;
    }
    const def = filled as TemplateDefinition;
    const other = seen.get(def.name);
    if (other) {
      problems.push({
        file,
        errors: [{ path: 'name', message: `"${def.name}" is already defined by ${other}` }],
      });
      continue;
    }
    seen.set(def.name, file);
    templates.push({ file, definition: def });
  }
  return { templates, problems };
}

/**
 * Brings the stored templates in line at start: the built-ins, then every template file of
 * `folder` (source `file`, replacing a built-in of the same name), and deletes `file` templates
 * whose file is gone. Templates created through the API are never overwritten by a file (reported
 * as a problem). Never throws for a bad file.
 *
 * @example
 * const report = await installTemplates(templates, { folder: path.join(configDir, 'templates') });
 * for (const p of report.problems) log.warn(p, 'template file skipped');
 */
export async function installTemplates(
  repo: TemplateRepository,
  options: { folder?: string; builtins?: boolean } = {},
): Promise<TemplateInstallReport> {
  const fromFolder = options.folder
    ? await readTemplateFolder(options.folder)
    : { templates: [], problems: [] };
  const problems = [...fromFolder.problems];
  const existing = new Map((await repo.list()).map((t) => [t.name, t]));
  const fileNames = new Set<string>();
  const files: string[] = [];
  for (const { file, definition } of fromFolder.templates) {
    if (existing.get(definition.name)?.source === 'api') {
      problems.push({
        file,
        errors: [
          {
            path: 'name',
            message: `"${definition.name}" is taken by a template created through the API`,
          },
        ],
      });
      continue;
    }
    await repo.save(definition, 'file');
    fileNames.add(definition.name);
    files.push(definition.name);
  }
  const removed: string[] = [];
  for (const t of existing.values()) {
    if (t.source === 'file' && !fileNames.has(t.name)) {
      await repo.delete(t.name);
      removed.push(t.name);
    }
  }
  const builtins: string[] = [];
  if (options.builtins !== false) {
    for (const def of BUILTIN_TEMPLATES) {
      const current = existing.get(def.name);
      if (fileNames.has(def.name) || current?.source === 'api') continue;
      await repo.save(def, 'builtin');
      builtins.push(def.name);
    }
  }
  return { files, builtins, removed, problems };
}
