import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** One caller's view of the history: what it cleared (before a time) and deleted (by id). */
interface View {
  cleared_before: number | null;
  /** job id → when it was hidden (ms). */
  deleted: Record<string, number>;
}

/** Deleted ids kept per caller; older ones go first (their jobs are long gone by retention). */
const MAX_DELETED = 50_000;

/**
 * What each caller removed from its own view of `/history` with `POST /history` (`clear`,
 * `delete`), kept in a JSON file so that a restarted gateway does not show the entries again.
 * Stored jobs are never deleted (other callers still see them; retention removes them).
 *
 * @example
 * const views = await HistoryViews.open('/data/comfy/history-views.json');
 * await views.delete('client-1', ['<job id>']);
 * views.hidden('client-1', { id: '<job id>', created_at: 0 }); // true
 */
export class HistoryViews {
  readonly #file: string;
  readonly #views: Map<string, View>;
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: string, views: Map<string, View>) {
    this.#file = file;
    this.#views = views;
  }

  /** Loads the file (a missing or unreadable file is an empty set of views). */
  static async open(file: string): Promise<HistoryViews> {
    const views = new Map<string, View>();
    try {
      const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        for (const [key, v] of Object.entries(parsed as Record<string, unknown>)) {
          if (v === null || typeof v !== 'object') continue;
          const r = v as Record<string, unknown>;
          const deleted: Record<string, number> = {};
          if (r.deleted !== null && typeof r.deleted === 'object') {
            for (const [id, at] of Object.entries(r.deleted as Record<string, unknown>)) {
              if (typeof at === 'number') deleted[id] = at;
            }
          }
          views.set(key, {
            cleared_before: typeof r.cleared_before === 'number' ? r.cleared_before : null,
            deleted,
          });
        }
      }
    } catch {
      // none yet, or unreadable: start empty
    }
    return new HistoryViews(file, views);
  }

  /** Whether a caller removed this job from its view. */
  hidden(key: string, job: { id: string; created_at: number }): boolean {
    const v = this.#views.get(key);
    if (!v) return false;
    if (v.cleared_before !== null && job.created_at <= v.cleared_before) return true;
    return v.deleted[job.id] !== undefined;
  }

  /** `POST /history {clear: true}`: everything so far leaves the caller's view. */
  clear(key: string, now = Date.now()): Promise<void> {
    // Ids deleted before the clear are covered by it.
    this.#views.set(key, { cleared_before: now, deleted: {} });
    return this.#save();
  }

  /** `POST /history {delete: [...]}`: these ids leave the caller's view. */
  delete(key: string, ids: readonly string[], now = Date.now()): Promise<void> {
    const v = this.#views.get(key) ?? { cleared_before: null, deleted: {} };
    for (const id of ids) v.deleted[id] = now;
    const entries = Object.entries(v.deleted);
    if (entries.length > MAX_DELETED) {
      entries.sort((a, b) => a[1] - b[1]);
      v.deleted = Object.fromEntries(entries.slice(entries.length - MAX_DELETED));
    }
    this.#views.set(key, v);
    return this.#save();
  }

  /** Writes the views atomically, one write after the other. */
  #save(): Promise<void> {
    const text = JSON.stringify(Object.fromEntries(this.#views));
    this.#writing = this.#writing
      .catch(() => undefined)
      .then(async () => {
        await mkdir(path.dirname(this.#file), { recursive: true });
        const tmp = `${this.#file}.${process.pid}.part`;
        await writeFile(tmp, text);
        await rename(tmp, this.#file);
      });
    return this.#writing;
  }
}
