import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** A stored input as recorded in the store. */
export interface InputRecord {
  hash: string;
  size: number;
  mime: string;
  original_name: string;
  created_at: number;
  last_used_at: number;
}

/** Where an input was uploaded on an instance (what LoadImage names there: `subfolder/name`). */
export interface UploadedInput {
  name: string;
  subfolder: string;
}

const CHUNK = 500;

/**
 * The `inputs` table (one row per stored content hash) and `instance_inputs` (which instance
 * already has which input, under which name), so an input is uploaded to an instance once.
 *
 * @example
 * const inputs = new InputRepository(store.db);
 * await inputs.record({ hash, size, mime: 'image/png', original_name: 'in.png' });
 * const have = await inputs.uploadedTo('gpu-0', [hash]); // Map hash → { name, subfolder }
 */
export class InputRepository {
  readonly #db: Kysely<Database>;
  readonly #now: () => number;

  constructor(db: Kysely<Database>, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
  }

  /** Records a stored input (or marks a known one as used now). */
  async record(input: {
    hash: string;
    size: number;
    mime: string;
    original_name: string;
  }): Promise<InputRecord> {
    const at = this.#now();
    await this.#db
      .insertInto('inputs')
      .values({ ...input, created_at: at, last_used_at: at })
      .onConflict((oc) => oc.column('hash').doUpdateSet({ last_used_at: at }))
      .execute();
    return (await this.get(input.hash)) as InputRecord;
  }

  /** The record of a hash, or undefined. */
  async get(hash: string): Promise<InputRecord | undefined> {
    const row = await this.#db
      .selectFrom('inputs')
      .selectAll()
      .where('hash', '=', hash)
      .executeTakeFirst();
    return row
      ? {
          ...row,
          size: Number(row.size),
          created_at: Number(row.created_at),
          last_used_at: Number(row.last_used_at),
        }
      : undefined;
  }

  /** Which of `hashes` the instance already has, and under which name. */
  async uploadedTo(
    instanceId: string,
    hashes: readonly string[],
  ): Promise<Map<string, UploadedInput>> {
    const out = new Map<string, UploadedInput>();
    for (let i = 0; i < hashes.length; i += CHUNK) {
      const part = hashes.slice(i, i + CHUNK);
      if (part.length === 0) continue;
      const rows = await this.#db
        .selectFrom('instance_inputs')
        .select(['hash', 'name', 'subfolder'])
        .where('instance_id', '=', instanceId)
        .where('hash', 'in', part)
        .execute();
      for (const r of rows) out.set(r.hash, { name: r.name, subfolder: r.subfolder });
    }
    return out;
  }

  /** Remembers that the instance has the input under this name (after /upload/image). */
  async recordUpload(instanceId: string, hash: string, uploaded: UploadedInput): Promise<void> {
    const at = this.#now();
    await this.#db
      .insertInto('instance_inputs')
      .values({ instance_id: instanceId, hash, ...uploaded, uploaded_at: at })
      .onConflict((oc) =>
        oc.columns(['instance_id', 'hash']).doUpdateSet({ ...uploaded, uploaded_at: at }),
      )
      .execute();
  }

  /**
   * Forgets what an instance has (all, or some hashes): after it lost its input folder (restart
   * on a fresh disk, LoadImage refused a file we thought was there), inputs are uploaded again.
   */
  async forgetUploads(instanceId: string, hashes?: readonly string[]): Promise<number> {
    let q = this.#db.deleteFrom('instance_inputs').where('instance_id', '=', instanceId);
    if (hashes !== undefined) {
      if (hashes.length === 0) return 0;
      q = q.where('hash', 'in', [...hashes]);
    }
    const res = await q.executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /**
   * Deletes up to `limit` inputs no job refers to that were last used before `cutoff` (ms), with
   * their upload records; returns their hashes (the caller removes the files).
   */
  async deleteUnreferencedBefore(cutoff: number, limit = 1000): Promise<string[]> {
    return this.#db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('inputs')
        .select('hash')
        .where('last_used_at', '<', cutoff)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('job_inputs')
                .select('job_inputs.hash')
                .whereRef('job_inputs.hash', '=', 'inputs.hash'),
            ),
          ),
        )
        .limit(Math.max(1, Math.floor(limit)))
        .execute();
      const hashes = rows.map((r) => r.hash);
      if (hashes.length === 0) return [];
      await trx.deleteFrom('instance_inputs').where('hash', 'in', hashes).execute();
      await trx.deleteFrom('inputs').where('hash', 'in', hashes).execute();
      return hashes;
    });
  }
}
