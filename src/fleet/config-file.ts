import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { type ConfigDocument, serializeConfig, validateConfigDocument } from './config-document.js';
import { ConfigFileError } from './errors.js';
import { describePosition, parseJsonText } from './json-text.js';

/** What {@link readConfigFile} found. */
export interface ConfigFileRead {
  /** null when the file does not exist yet. */
  document: ConfigDocument | null;
  /** The version the file had when it was older (it is rewritten in the new version on save). */
  migratedFrom: string | undefined;
  notes: string[];
  /** The original text (for a backup before the first rewrite of a migrated file). */
  text: string | null;
}

/**
 * Reads, migrates and validates `comfyui_instances.json`. A missing file gives `document: null`.
 * Anything else that is wrong (unreadable, not JSON, unknown version, an invalid instance) throws
 * {@link ConfigFileError} naming the file, the position or field, and what to fix; the file is
 * not touched.
 *
 * @example
 * const { document } = await readConfigFile(resolveConfigFile());
 */
export async function readConfigFile(
  file: string,
  options: { now?: string } = {},
): Promise<ConfigFileRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { document: null, migratedFrom: undefined, notes: [], text: null };
    }
    throw new ConfigFileError(file, `cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const parsed = parseJsonText(text.replace(/^\uFEFF/, ''));
  if (!parsed.ok) {
    throw new ConfigFileError(
      file,
      `is not valid JSON at ${describePosition(parsed.position)}: ${parsed.problem}`,
      parsed.position ? { position: parsed.position } : {},
    );
  }
  const result = validateConfigDocument(parsed.value, {
    now: options.now ?? new Date().toISOString(),
  });
  if (!result.ok) {
    const all = [...result.errors, ...result.instances.flatMap((i) => i.errors)];
    const shown = all.slice(0, 5).map((e) => `${e.path || '(root)'}: ${e.message}`);
    throw new ConfigFileError(
      file,
      `is invalid (${all.length} problem(s)): ${shown.join('; ')}${all.length > 5 ? '; ...' : ''}`,
      { errors: all },
    );
  }
  return {
    document: result.document,
    migratedFrom: result.migratedFrom,
    notes: result.notes,
    text,
  };
}

const TEMP_SUFFIX = '.tmp';

function tempName(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`,
  );
}

/**
 * Writes `text` to `file` atomically: a temp file in the same directory is written and fsynced,
 * then renamed over the target, then the directory is fsynced. A crash at any moment leaves
 * either the old or the new complete file (a stray `.<name>.*.tmp` at worst, ignored by readers
 * and removed by a later write). The file is created with mode 0600 (it holds credentials).
 *
 * @example
 * await writeFileAtomic('/home/ann/.config/comfy-cluster/comfyui_instances.json', text);
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = tempName(file);
  const handle = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
  await removeStaleTemps(file);
}

// Makes the rename itself durable. Not possible on Windows (directories cannot be opened).
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the data itself is already synced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

const STALE_MS = 10 * 60 * 1000;

// Temp files left by a crashed writer; only old ones, so a concurrent writer is never disturbed.
async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) continue;
    const p = path.join(dir, name);
    try {
      if (now - (await stat(p)).mtimeMs > STALE_MS) await rm(p, { force: true });
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

/**
 * Saves a config document atomically (see {@link writeFileAtomic}), stamping `last_saved`.
 *
 * @example
 * await writeConfigFile(file, { ...doc, instances });
 */
export async function writeConfigFile(
  file: string,
  document: ConfigDocument,
  options: { now?: string } = {},
): Promise<ConfigDocument> {
  const saved = { ...document, last_saved: options.now ?? new Date().toISOString() };
  await writeFileAtomic(file, serializeConfig(saved));
  return saved;
}
