import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  groupMembers,
  isProcessAlive,
  processStartTime,
  readCommandLine,
  terminateGroup,
} from './process-tree.js';

/** What the supervisor records for each process it starts, so a later run can clean up. */
export interface PidRecord {
  name: string;
  pid: number;
  /** Process group (= pid: children are started as group leaders). */
  pgid: number;
  /** The exact argv started (command first). */
  argv: string[];
  /** /proc start time of the pid (Linux), or null. */
  start_time: string | null;
  started_at: string;
  supervisor_pid: number;
  /** /proc start time of the supervisor (Linux), to tell it from a process that reused its pid. */
  supervisor_start_time?: string | null;
}

/** Path of the pid file of instance `name` in `runDir`. */
export function pidFilePath(runDir: string, name: string): string {
  return join(runDir, `${name}.pid.json`);
}

/** Writes the record atomically (temp file + rename). */
export function writePidRecord(runDir: string, record: PidRecord): void {
  mkdirSync(runDir, { recursive: true });
  const file = pidFilePath(runDir, record.name);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** Reads a record; null when missing or unreadable. */
export function readPidRecord(runDir: string, name: string): PidRecord | null {
  try {
    const parsed = JSON.parse(readFileSync(pidFilePath(runDir, name), 'utf8')) as PidRecord;
    return Number.isInteger(parsed.pid) && Array.isArray(parsed.argv) ? parsed : null;
  } catch {
    return null;
  }
}

export function removePidRecord(runDir: string, name: string): void {
  rmSync(pidFilePath(runDir, name), { force: true });
}

/** Outcome of {@link cleanupLeftover} for one pid file. */
export interface LeftoverCleanup {
  name: string;
  pid: number;
  /**
   * `killed`: our leftover group was running and was ended. `gone`: nothing ran any more.
   * `reused`: the pid now belongs to another program, which was left alone.
   */
  outcome: 'killed' | 'gone' | 'reused';
}

/**
 * True when the supervisor (gateway) that wrote the record is another process that still runs:
 * its instances are not leftovers but someone else's, and must not be ended.
 *
 * @example
 * const owner = readPidRecord(runDir, 'comfyui-gpu0');
 * if (owner && isLiveSupervisor(owner)) throw new Error(`gateway ${owner.supervisor_pid} runs it`);
 */
export function isLiveSupervisor(record: PidRecord): boolean {
  const pid = record.supervisor_pid;
  if (!Number.isInteger(pid) || pid === process.pid || !isProcessAlive(pid)) return false;
  const recorded = record.supervisor_start_time ?? null;
  const start = processStartTime(pid);
  return recorded === null || start === null || recorded === start;
}

/**
 * True when `record.pid` is still the process the record describes: alive, same start time
 * (when known) and same command line. Guards against killing a process that reused the pid.
 */
export function isRecordedProcess(record: PidRecord): boolean {
  if (!isProcessAlive(record.pid)) return false;
  // pid + start time identify one process for the life of the boot: enough on its own, and it
  // still holds when argv differs from what was spawned (a script run through its shebang).
  const start = processStartTime(record.pid);
  if (record.start_time !== null && start !== null) return start === record.start_time;
  const argv = readCommandLine(record.pid);
  if (argv === null) return false;
  // `ps` (non-Linux) joins argv with spaces, so compare the joined forms.
  return argv.join(' ') === record.argv.join(' ');
}

/**
 * Ends what a previous supervisor left running for instance `name` (it was SIGKILLed, or the
 * host lost power mid-shutdown): when the recorded leader still runs the recorded command its
 * whole group is terminated; when the leader is gone, remaining members of its group (which
 * cannot belong to anyone else: Linux does not reuse a pid while its group lives) are too.
 *
 * @example
 * const result = await cleanupLeftover('/run/cc', 'comfyui-gpu0', 5000);
 * if (result?.outcome === 'killed') log.warn('ended a leftover ComfyUI from a previous run');
 */
export async function cleanupLeftover(
  runDir: string,
  name: string,
  graceMs: number,
): Promise<LeftoverCleanup | null> {
  const record = readPidRecord(runDir, name);
  if (record === null) {
    removePidRecord(runDir, name);
    return null;
  }
  let outcome: LeftoverCleanup['outcome'];
  if (isRecordedProcess(record)) {
    await terminateGroup(record.pgid, graceMs);
    outcome = 'killed';
  } else if (!isProcessAlive(record.pid) && groupMembers(record.pgid).length > 0) {
    await terminateGroup(record.pgid, graceMs);
    outcome = 'killed';
  } else {
    outcome = isProcessAlive(record.pid) ? 'reused' : 'gone';
  }
  removePidRecord(runDir, name);
  return { name, pid: record.pid, outcome };
}

/** Names of all instances with a pid file in `runDir`. */
export function listPidRecords(runDir: string): string[] {
  try {
    return readdirSync(runDir)
      .filter((f) => f.endsWith('.pid.json'))
      .map((f) => f.slice(0, -'.pid.json'.length));
  } catch {
    return [];
  }
}
