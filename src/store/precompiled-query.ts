import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';

/** A database handle or transaction: anything that runs compiled queries. */
type Runner = Pick<Kysely<unknown>, 'executeQuery' | 'getExecutor'>;

interface Compiled {
  sql: string;
  /** Per bound parameter: the argument index it takes, or -1 for a constant (`constants[i]`). */
  slots: number[];
  constants: unknown[];
}

const SENTINEL = '\u0000cc-arg-';

/**
 * A hot query built with Kysely once per SQL dialect instead of on every call: building and
 * compiling the operation tree costs more than running a small SQLite statement. The query is
 * built with stand-in arguments; each call binds the real ones in their places. Arguments must
 * only be used as values (bound parameters), never as identifiers or raw SQL.
 *
 * The build function must declare every argument (no defaults or rest parameters): their number
 * is read from it.
 *
 * @example
 * const insertEvent = new PrecompiledQuery((db: Kysely<Database>, id: string, at: number) =>
 *   db.insertInto('job_events').values({ job_id: id, at, type: 'x', data_json: '{}' }));
 * await insertEvent.execute(trx, 'job-1', Date.now());
 */
export class PrecompiledQuery<DB, A extends unknown[], R> {
  readonly #build: (db: Kysely<DB>, ...args: A) => Compilable<R>;
  readonly #arity: number;
  // Named form: the single argument is an object with these fields.
  readonly #fields: readonly string[] | undefined;
  // Keyed by the dialect's adapter class: the SQL text depends only on the dialect.
  readonly #byDialect = new Map<unknown, Compiled>();

  constructor(build: (db: Kysely<DB>, ...args: A) => Compilable<R>, fields?: readonly string[]) {
    this.#build = build;
    this.#fields = fields;
    this.#arity = fields ? fields.length : build.length - 1;
  }

  /**
   * The same with one object argument whose `fields` are all bound as values (for queries with
   * many values, where positions would be easy to mix up).
   *
   * @example
   * const insert = PrecompiledQuery.named(['id', 'at'] as const, (db: Kysely<Database>, v: { id: string; at: number }) =>
   *   db.insertInto('job_events').values({ job_id: v.id, at: v.at, type: 'x', data_json: '{}' }));
   * await insert.execute(trx, { id: 'job-1', at: Date.now() });
   */
  static named<DB, V extends Record<string, unknown>, R>(
    fields: readonly (keyof V & string)[],
    build: (db: Kysely<DB>, values: V) => Compilable<R>,
  ): PrecompiledQuery<DB, [V], R> {
    return new PrecompiledQuery<DB, [V], R>(build, fields);
  }

  /** Runs the query with `args` bound, on `db` (a Kysely handle or a transaction). */
  async execute(db: Kysely<DB> | Runner, ...args: A): Promise<R[]> {
    const runner = db as Runner;
    const compiled = this.#compiled(db as Kysely<DB>, runner);
    const fields = this.#fields;
    const named = fields ? (args[0] as Record<string, unknown>) : undefined;
    const parameters = compiled.slots.map((slot, i) =>
      slot < 0 ? compiled.constants[i] : named ? named[fields?.[slot] ?? ''] : args[slot],
    );
    const result: QueryResult<R> = await runner.executeQuery(
      CompiledQuery.raw(compiled.sql, parameters) as CompiledQuery<R>,
    );
    return result.rows;
  }

  /** The first row, or undefined. */
  async executeTakeFirst(db: Kysely<DB> | Runner, ...args: A): Promise<R | undefined> {
    return (await this.execute(db, ...args))[0];
  }

  #compiled(db: Kysely<DB>, runner: Runner): Compiled {
    const dialect = runner.getExecutor().adapter.constructor;
    let compiled = this.#byDialect.get(dialect);
    if (compiled) return compiled;
    const standIns = Array.from({ length: this.#arity }, (_, i) => `${SENTINEL}${i}`);
    const fields = this.#fields;
    const stand = (
      fields ? [Object.fromEntries(fields.map((f, i) => [f, standIns[i]]))] : standIns
    ) as A;
    const query = this.#build(db, ...stand).compile();
    if (query.sql.includes(SENTINEL)) {
      throw new Error('PrecompiledQuery: an argument was used as SQL text, not as a value');
    }
    const slots: number[] = [];
    const constants: unknown[] = [];
    for (const p of query.parameters) {
      const slot =
        typeof p === 'string' && p.startsWith(SENTINEL) ? Number(p.slice(SENTINEL.length)) : -1;
      slots.push(slot);
      constants.push(slot < 0 ? p : undefined);
    }
    compiled = { sql: query.sql, slots, constants };
    this.#byDialect.set(dialect, compiled);
    return compiled;
  }
}
