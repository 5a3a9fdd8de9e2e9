/**
 * Process and process-group facts for cleanup, read from /proc on Linux (with `ps` as a fallback
 * elsewhere). Zombies count as dead: an orphan re-parented to an init that does not reap (as in
 * some containers) stays a zombie forever, yet it holds no port and runs no code.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const hasProc = process.platform === 'linux';

interface ProcStat {
  state: string;
  pgrp: number;
  /** Clock ticks since boot: with the pid, identifies one process for its lifetime. */
  startTime: string;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces or ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', pgrp: Number(rest[2]), startTime: rest[19] ?? '' };
  } catch {
    return null;
  }
}

/** True when `pid` runs (a zombie does not count). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!hasProc) return true;
  const stat = readStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}

/** The start time of `pid` (Linux), to tell it from a later process that reuses the number. */
export function processStartTime(pid: number): string | null {
  return hasProc ? (readStat(pid)?.startTime ?? null) : null;
}

/** The argv of a running process, or null when it is gone or unreadable. */
export function readCommandLine(pid: number): string[] | null {
  if (hasProc) {
    try {
      const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (raw === '') return null;
      return raw.replace(/\0$/, '').split('\0');
    } catch {
      return null;
    }
  }
  try {
    // Elsewhere `ps` gives a space-joined line; split it the same way for comparison.
    const line = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return line.trim() === '' ? null : line.trim().split(' ');
  } catch {
    return null;
  }
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  if (!hasProc) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') {
      members.push(Number(entry));
    }
  }
  return members;
}

/** Sends `signal` to every process in group `pgid`; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends process group `pgid`: SIGTERM, then SIGKILL after `graceMs` if members remain. Resolves
 * when no live member is left (or after the SIGKILL wait), returning how it ended.
 *
 * @example
 * await terminateGroup(child.pid!, 5000);
 */
export async function terminateGroup(
  pgid: number,
  graceMs: number,
): Promise<'gone' | 'terminated' | 'killed'> {
  if (groupMembers(pgid).length === 0) return 'gone';
  signalGroup(pgid, 'SIGTERM');
  if (await waitForGroupExit(pgid, graceMs)) return 'terminated';
  signalGroup(pgid, 'SIGKILL');
  await waitForGroupExit(pgid, 2000);
  return 'killed';
}

/** Polls until group `pgid` has no live member; false on timeout. */
export async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (groupMembers(pgid).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
}
