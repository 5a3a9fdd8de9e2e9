import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** File in the data dir holding the gateway's webhook secret when none is configured. */
export const WEBHOOK_SECRET_FILE = 'webhook_secret';

/**
 * The gateway's webhook signing secret: the given one (COMFY_CLUSTER_WEBHOOK_SECRET), else the
 * one in `<data dir>/webhook_secret`, created (random, mode 0600) on first use.
 *
 * @example
 * const secret = await loadWebhookSecret(dataDir, process.env.COMFY_CLUSTER_WEBHOOK_SECRET);
 */
export async function loadWebhookSecret(dataDir: string, given?: string): Promise<string> {
  if (given && given.trim() !== '') return given.trim();
  const file = path.join(dataDir, WEBHOOK_SECRET_FILE);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (text !== '') return text;
  } catch {
    // not created yet
  }
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
