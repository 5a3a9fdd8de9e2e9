import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Folder inside the ComfyUI checkout that holds the installer's state (git-excluded). */
export const STATE_DIR = '.comfy-cluster';
/** The state file inside {@link STATE_DIR}. */
export const STATE_FILE = 'install-state.json';

/** Scalar facts a step records about what it did. */
export type StepFacts = Record<string, string | number | boolean | null>;

/** One completed step. */
export interface StepRecord {
  /** sha256 of the step's inputs: a different value means the step must run again. */
  inputs_hash: string;
  completed_at: string;
  duration_ms: number;
  facts: StepFacts;
  /** What the step reported, repeated as "already done: …" by later runs. */
  message: string;
}

/** A failure, as kept for /health/comfyui/installation and the next run. */
export interface InstallFailure {
  at: string;
  step: string;
  /** The command that failed, or null when the step failed without one. */
  command: string | null;
  exit_code: number | null;
  message: string;
  output_tail: string[];
}

/** The installer's memory of one install dir. JSON, snake_case, versioned. */
export interface InstallState {
  version: 1;
  /** Random id of this install; a staging copy records which install it came from. */
  install_id: string;
  updated_at: string;
  steps: Record<string, StepRecord>;
  validation: {
    ok: boolean;
    at: string;
    duration_ms: number;
    command: string;
    output_tail: string[];
  } | null;
  /** Set when a whole install (every step and the validation) succeeded. */
  last_success: { at: string; commit: string; inputs_hash: string } | null;
  last_error: InstallFailure | null;
  /** In a staging copy: `install_id@updated_at` of the install it was copied from. */
  staged_from: string | null;
}

/** Path of the state file of install dir `dir`. */
export function stateFilePath(dir: string): string {
  return join(dir, STATE_DIR, STATE_FILE);
}

/** A fresh, empty state. */
export function emptyState(): InstallState {
  return {
    version: 1,
    install_id: randomUUID(),
    updated_at: new Date().toISOString(),
    steps: {},
    validation: null,
    last_success: null,
    last_error: null,
    staged_from: null,
  };
}

/** Reads the state of `dir`; null when there is none or it is unreadable. */
export function readInstallState(dir: string): InstallState | null {
  try {
    const parsed = JSON.parse(readFileSync(stateFilePath(dir), 'utf8')) as Partial<InstallState>;
    if (parsed.version !== 1 || typeof parsed.steps !== 'object' || parsed.steps === null)
      return null;
    return { ...emptyState(), ...parsed } as InstallState;
  } catch {
    return null;
  }
}

/** Writes the state atomically (temp file + rename), stamping `updated_at`. */
export function writeInstallState(dir: string, state: InstallState): void {
  state.updated_at = new Date().toISOString();
  mkdirSync(join(dir, STATE_DIR), { recursive: true });
  const file = stateFilePath(dir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** sha256 of a JSON value with sorted keys (so key order never changes the hash). */
export function hashInputs(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}
