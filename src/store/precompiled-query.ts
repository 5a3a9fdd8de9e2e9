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
  // Keyed by the dialect's adapter class: the SQL text depends only on the dialect.
  readonly #byDialect = new Map<unknown, Compiled>();

  constructor(build: (db: Kysely<DB>, ...args: A) => Compilable<R>) {
    this.#build = build;
    this.#arity = build.length - 1;
  }

  /** Runs the query with `args` bound, on `db` (a Kysely handle or a transaction). */
  async execute(db: Kysely<DB> | Runner, ...args: A): Promise<R[]> {
    const runner = db as Runner;
    const compiled = this.#compiled(db as Kysely<DB>, runner);
    const parameters = compiled.slots.map((slot, i) =>
      slot < 0 ? compiled.constants[i] : args[slot],
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
    const stand = Array.from({ length: this.#arity }, (_, i) => `${SENTINEL}${i}`) as A;
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
