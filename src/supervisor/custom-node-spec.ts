/** One custom node pack to install into `<ComfyUI>/custom_nodes/<name>`. */
export interface CustomNodeSpec {
  /** Folder name under custom_nodes (the repository name without .git). */
  name: string;
  /** What `git clone` is given. */
  url: string;
  /** Branch, tag or commit; null = the remote's default branch. */
  ref: string | null;
  /** The text it was parsed from. */
  spec: string;
}

/** Thrown (or collected) for a custom node entry that cannot be used. */
export class CustomNodeSpecError extends Error {
  override readonly name = 'CustomNodeSpecError';
  constructor(
    readonly spec: string,
    readonly reason: string,
  ) {
    super(`custom node "${spec}": ${reason}`);
  }
}

export interface CustomNodeSpecOptions {
  /** Where `owner/repo` entries live. Default https://github.com/ */
  baseUrl?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// A ref is handed to git as an argument: no whitespace, no leading dash (option injection), no "..".
const REF = /^[A-Za-z0-9_][A-Za-z0-9._/+-]*$/;

function isUrlLike(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^[^/\s]+@[^/\s]+:/.test(text);
}

/**
 * Parses one custom node entry. Accepted forms: a git URL (`https://…/Repo.git`, `ssh://…`,
 * `git@host:owner/repo.git`, `file:///…` or an absolute path), optionally followed by `@ref` or
 * `#ref`; or `owner/repo[@ref]`, resolved against `baseUrl`. A bare name cannot be located
 * without a registry and is rejected with a hint.
 *
 * @example
 * parseCustomNodeSpec('ltdrdata/ComfyUI-Impact-Pack@8.8.1')
 * // { name: 'ComfyUI-Impact-Pack', url: 'https://github.com/ltdrdata/ComfyUI-Impact-Pack', ref: '8.8.1', … }
 */
export function parseCustomNodeSpec(
  spec: string,
  options: CustomNodeSpecOptions = {},
): CustomNodeSpec {
  const text = spec.trim();
  if (text === '') throw new CustomNodeSpecError(spec, 'empty entry');
  if (/\s/.test(text)) throw new CustomNodeSpecError(spec, 'contains whitespace');
  if (text.startsWith('-')) throw new CustomNodeSpecError(spec, 'must not start with "-"');

  let location = text;
  let ref: string | null = null;
  const hash = text.lastIndexOf('#');
  if (hash >= 0) {
    location = text.slice(0, hash);
    ref = text.slice(hash + 1);
  } else {
    // "@ref" only counts in the last path segment, so "git@host:owner/repo" keeps its user part.
    const lastSlash = Math.max(text.lastIndexOf('/'), text.lastIndexOf(':'));
    const at = text.indexOf('@', lastSlash + 1);
    if (at > lastSlash + 1) {
      location = text.slice(0, at);
      ref = text.slice(at + 1);
    }
  }
  if (ref !== null && !REF.test(ref)) {
    throw new CustomNodeSpecError(spec, `"${ref}" is not a usable git ref`);
  }

  let url: string;
  if (isUrlLike(location) || location.startsWith('/')) {
    url = location;
  } else if (/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(location)) {
    const base = options.baseUrl ?? 'https://github.com/';
    url = `${base.endsWith('/') ? base : `${base}/`}${location}`;
  } else {
    throw new CustomNodeSpecError(
      spec,
      'cannot tell where it lives: give a git URL (https://…/repo.git) or owner/repo',
    );
  }

  let path = location;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    try {
      path = new URL(location).pathname;
    } catch {
      throw new CustomNodeSpecError(spec, `"${location}" is not a valid URL`);
    }
  }
  const tail = path.replace(/\/+$/, '').split(/[/:]/).pop() ?? '';
  const name = tail.replace(/\.git$/, '');
  if (!NAME.test(name)) {
    throw new CustomNodeSpecError(spec, `cannot derive a folder name from "${location}"`);
  }
  return { name, url, ref, spec: text };
}

/** Result of {@link parseCustomNodeList}: usable specs and the entries that were not. */
export interface CustomNodeList {
  specs: CustomNodeSpec[];
  /** One message per unusable entry, naming its position (1-based) and the reason. */
  errors: string[];
}

/**
 * Parses a list of custom node entries separated by commas or new lines (`#` starts a comment
 * at the beginning of a line, as in a --custom-nodes-file). Duplicated folder names are
 * reported, the first one wins.
 *
 * @example
 * parseCustomNodeList('a/b, https://example.com/c.git@v1', 'COMFYUI_CUSTOM_NODES').specs.length // 2
 */
export function parseCustomNodeList(
  text: string,
  source: string,
  options: CustomNodeSpecOptions = {},
): CustomNodeList {
  const entries = text
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const specs: CustomNodeSpec[] = [];
  const errors: string[] = [];
  entries.forEach((entry, i) => {
    try {
      const parsed = parseCustomNodeSpec(entry, options);
      const clash = specs.find((s) => s.name === parsed.name);
      if (clash) {
        errors.push(
          `${source} entry ${i + 1} ("${entry}") ignored: folder "${parsed.name}" already comes from "${clash.spec}"`,
        );
        return;
      }
      specs.push(parsed);
    } catch (error) {
      const reason = error instanceof CustomNodeSpecError ? error.reason : String(error);
      errors.push(`${source} entry ${i + 1} ("${entry}") ignored: ${reason}`);
    }
  });
  return { specs, errors };
}
