import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

/** Environment for every git call: never prompt for credentials (an install runs unattended). */
export const GIT_ENV: Readonly<Record<string, string>> = {
  GIT_TERMINAL_PROMPT: '0',
  GCM_INTERACTIVE: 'never',
};

/** Runs a quick git command and returns its trimmed stdout; null when git exits non-zero. */
export function gitOutput(cwd: string, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      'git',
      [...args],
      { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8', timeout: 60_000 },
      (error, stdout) => resolve(error ? null : stdout.trim()),
    );
  });
}

/**
 * The commit a ref names in checkout `cwd`, preferring the remote-tracking branch (freshest after
 * a fetch), then a tag, then anything git resolves (a commit id, a local branch). Null when
 * unknown locally.
 *
 * @example
 * await resolveCommit('/opt/ComfyUI', 'v0.3.64'); // 'e5f8…'
 */
export async function resolveCommit(cwd: string, ref: string): Promise<string | null> {
  for (const candidate of [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`, ref]) {
    const commit = await gitOutput(cwd, [
      'rev-parse',
      '--verify',
      '--quiet',
      `${candidate}^{commit}`,
    ]);
    if (commit) return commit;
  }
  return null;
}

async function gitDir(dir: string): Promise<string | null> {
  const dotGit = join(dir, '.git');
  try {
    const info = await stat(dotGit);
    if (info.isDirectory()) return dotGit;
    // A worktree or submodule: ".git" is a file "gitdir: <path>".
    const text = await readFile(dotGit, 'utf8');
    const match = /^gitdir:\s*(.+)$/m.exec(text);
    if (!match?.[1]) return null;
    return isAbsolute(match[1]) ? match[1] : join(dir, match[1]);
  } catch {
    return null;
  }
}

/**
 * The commit checked out in `dir`, read from the files under .git (no process started, so
 * health checks stay cheap). Null when `dir` is not a git checkout.
 *
 * @example
 * await readGitHead('/opt/ComfyUI/custom_nodes/ComfyUI-Impact-Pack'); // '4a1c…'
 */
export async function readGitHead(dir: string): Promise<string | null> {
  const git = await gitDir(dir);
  if (!git) return null;
  let head: string;
  try {
    head = (await readFile(join(git, 'HEAD'), 'utf8')).trim();
  } catch {
    return null;
  }
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (!ref) return null;
  // Worktrees keep refs in the common dir.
  let common = git;
  try {
    const text = (await readFile(join(git, 'commondir'), 'utf8')).trim();
    common = isAbsolute(text) ? text : join(git, text);
  } catch {
    // not a worktree
  }
  for (const base of [git, common]) {
    try {
      return (await readFile(join(base, ref), 'utf8')).trim();
    } catch {
      // try packed-refs
    }
    try {
      const packed = await readFile(join(base, 'packed-refs'), 'utf8');
      const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
      if (line) return line.split(' ')[0] ?? null;
    } catch {
      // none
    }
  }
  return null;
}
