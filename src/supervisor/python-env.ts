import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Runs `python -c code` and returns trimmed stdout; null on failure. */
export function pythonOutput(
  python: string,
  code: string,
  timeoutMs = 60_000,
): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(python, ['-c', code], { encoding: 'utf8', timeout: timeoutMs }, (error, stdout) =>
      resolve(error ? null : stdout.trim()),
    );
  });
}

/** "3.11.7" for an interpreter, or null when it does not run. */
export function pythonVersion(python: string): Promise<string | null> {
  return pythonOutput(python, 'import sys; print("%d.%d.%d" % sys.version_info[:3])');
}

/** Whether `python -m pip` works in that interpreter. */
export async function hasPip(python: string): Promise<boolean> {
  return (await pythonOutput(python, 'import pip; print(pip.__version__)')) !== null;
}

/** Installed version of a distribution (e.g. "torch" → "2.9.0+cu130"), from its metadata. */
export function installedVersion(python: string, distribution: string): Promise<string | null> {
  return pythonOutput(
    python,
    `import importlib.metadata as m\ntry:\n    print(m.version(${JSON.stringify(distribution)}))\nexcept m.PackageNotFoundError:\n    raise SystemExit(1)`,
  );
}

/**
 * The requirement lines of a requirements file (comments, blank lines and pip options such as
 * `--extra-index-url` that install nothing on their own are dropped). Empty → nothing to install.
 *
 * @example
 * requirementLines('# deps\n\nnumpy>=1.25\n') // ['numpy>=1.25']
 */
export function requirementLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter((l) => l !== '')
    .filter(
      (l) => !/^--?(extra-index-url|index-url|find-links|trusted-host|pre|no-index|[fi])\b/.test(l),
    );
}

/** The requirement lines of `<dir>/requirements.txt`; null when the file does not exist. */
export async function readRequirements(
  dir: string,
): Promise<{ text: string; lines: string[] } | null> {
  try {
    const text = await readFile(join(dir, 'requirements.txt'), 'utf8');
    return { text, lines: requirementLines(text) };
  } catch {
    return null;
  }
}

/**
 * The torch version installed in a venv, read from its `torch-<version>.dist-info` folder without
 * starting Python (cheap enough for health checks). Null when absent.
 */
export async function torchVersionOnDisk(venvDir: string): Promise<string | null> {
  const candidates: string[] = [join(venvDir, 'Lib', 'site-packages')];
  try {
    for (const entry of await readdir(join(venvDir, 'lib'))) {
      if (entry.startsWith('python')) candidates.push(join(venvDir, 'lib', entry, 'site-packages'));
    }
  } catch {
    // Windows layout only
  }
  for (const dir of candidates) {
    try {
      const entry = (await readdir(dir)).find((e) => /^torch-[^-]+\.dist-info$/.test(e));
      if (entry) return entry.slice('torch-'.length, -'.dist-info'.length);
    } catch {
      // not this layout
    }
  }
  return null;
}

/** The Python version a venv was made with, from its pyvenv.cfg. */
export async function venvPythonVersion(venvDir: string): Promise<string | null> {
  try {
    const cfg = await readFile(join(venvDir, 'pyvenv.cfg'), 'utf8');
    return /^version(?:_info)?\s*=\s*(\S+)/m.exec(cfg)?.[1] ?? null;
  } catch {
    return null;
  }
}
