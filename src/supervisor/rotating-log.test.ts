import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RotatingLog } from './rotating-log.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cc-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('RotatingLog', () => {
  it('rotates by size and keeps maxFiles rotated files', () => {
    const file = join(dir, 'logs', 'i.log');
    const log = new RotatingLog({ file, maxBytes: 100, maxFiles: 2 });
    const t = Date.parse('2026-01-02T03:04:05.000Z');
    // Each line is 24 (time) + 1 + 6 (stdout) + 1 + 10 + 1 = 43 bytes: two per file.
    for (let i = 0; i < 10; i++) log.write('stdout', `line ${String(i).padStart(5, '0')}`, t);
    log.close();
    expect(log.files()).toEqual([file, `${file}.1`, `${file}.2`]);
    expect(readFileSync(file, 'utf8')).toBe(
      '2026-01-02T03:04:05.000Z stdout line 00008\n2026-01-02T03:04:05.000Z stdout line 00009\n',
    );
    expect(readFileSync(`${file}.2`, 'utf8')).toContain('line 00004');
    expect(log.readTail(3).map((l) => l.text)).toEqual(['line 00007', 'line 00008', 'line 00009']);
  });

  it('keeps a bounded memory tail and reads back files written by an earlier run', () => {
    const file = join(dir, 'i.log');
    writeFileSync(file, '2026-01-02T03:04:05.000Z stderr old error\nraw line\n');
    const log = new RotatingLog({ file, memoryLines: 2 });
    expect(log.tail()).toEqual([]);
    expect(log.readTail(5)).toEqual([
      { time: Date.parse('2026-01-02T03:04:05.000Z'), stream: 'stderr', text: 'old error' },
      { time: 0, stream: 'stdout', text: 'raw line' },
    ]);
    log.write('supervisor', 'a');
    log.write('stdout', 'b');
    log.write('stderr', 'c');
    expect(log.tail(10).map((l) => l.text)).toEqual(['b', 'c']);
    log.close();
    expect(readFileSync(file, 'utf8')).toMatch(
      /old error\nraw line\n.* supervisor a\n.* stdout b\n/,
    );
  });
});
