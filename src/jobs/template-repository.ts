import type { Kysely } from 'kysely';
import type { Database, TemplateRow } from '../store/schema.js';
import { JobError } from './errors.js';
import { parseJson } from './job-rows.js';
import {
  TEMPLATE_SOURCES,
  type Template,
  type TemplateDefinition,
  type TemplateSource,
  templateProblems,
} from './template-model.js';

function toTemplate(row: TemplateRow): Template {
  return {
    name: row.name,
    description: row.description,
    workflow: parseJson<Record<string, unknown>>(row.workflow_json, {}),
    parameters: parseJson<Template['parameters']>(row.parameters_json, {}),
    variants: parseJson<Template['variants']>(row.variants_json, []),
    source: (TEMPLATE_SOURCES as readonly string[]).includes(row.source)
      ? (row.source as TemplateSource)
      : 'api',
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

/**
 * Stored templates (name → workflow, parameters, variants), with where each came from.
 *
 * @example
 * const templates = new TemplateRepository(store.db);
 * await templates.save(UPSCALE_IMAGE_TEMPLATE, 'builtin');
 * const t = await templates.getOrThrow('upscale-image');
 */
export class TemplateRepository {
  readonly #db: Kysely<Database>;
  readonly #now: () => number;

  constructor(db: Kysely<Database>, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Creates or replaces a template (keeping its creation time). An unusable definition is refused
   * with TEMPLATE_INVALID listing every problem.
   */
  async save(definition: TemplateDefinition, source: TemplateSource): Promise<Template> {
    const problems = templateProblems(definition);
    if (problems.length > 0) {
      const first = problems[0];
      throw new JobError(
        'TEMPLATE_INVALID',
        `template ${String((definition as { name?: unknown })?.name)}: ${first?.path} ${first?.message}`,
        { errors: problems },
      );
    }
    const at = this.#now();
    const values = {
      name: definition.name,
      description: definition.description ?? '',
      workflow_json: JSON.stringify(definition.workflow),
      parameters_json: JSON.stringify(definition.parameters ?? {}),
      variants_json: JSON.stringify(definition.variants ?? []),
      source,
      updated_at: at,
    };
    const { name: _name, ...update } = values;
    await this.#db
      .insertInto('templates')
      .values({ ...values, created_at: at })
      .onConflict((oc) => oc.column('name').doUpdateSet(update))
      .execute();
    return (await this.get(definition.name)) as Template;
  }

  /** The template, or undefined. */
  async get(name: string): Promise<Template | undefined> {
    const row = await this.#db
      .selectFrom('templates')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? toTemplate(row) : undefined;
  }

  /** The template, or TEMPLATE_NOT_FOUND naming the known ones. */
  async getOrThrow(name: string): Promise<Template> {
    const t = await this.get(name);
    if (t) return t;
    const known = (await this.list()).map((x) => x.name);
    throw new JobError(
      'TEMPLATE_NOT_FOUND',
      `no template named "${name}"${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
      { template: name, known },
    );
  }

  /** Every template, by name. */
  async list(): Promise<Template[]> {
    const rows = await this.#db.selectFrom('templates').selectAll().orderBy('name').execute();
    return rows.map(toTemplate);
  }

  /** Deletes a template; false when there was none. */
  async delete(name: string): Promise<boolean> {
    const res = await this.#db.deleteFrom('templates').where('name', '=', name).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
