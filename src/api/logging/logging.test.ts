import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { RotatingFile } from './rotating-file.js';

let dir: string;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('RotatingFile', () => {
  it('rotates by size without splitting lines and keeps maxFiles copies', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cc-log-'));
    const file = path.join(dir, 'sub', 'combined.log');
    const log = new RotatingFile({ file, maxBytes: 100, maxFiles: 2 });
    for (let i = 0; i < 20; i++)
      log.write(`line ${String(i).padStart(2, '0')} ${'x'.repeat(20)}\n`);
    log.close();
    const live = readFileSync(file, 'utf8');
    expect(live.length).toBeLessThanOrEqual(100);
    expect(live.endsWith('line 19 xxxxxxxxxxxxxxxxxxxx\n')).toBe(true);
    for (const f of [file, `${file}.1`, `${file}.2`]) {
      for (const line of readFileSync(f, 'utf8').split('\n').filter(Boolean)) {
        expect(line).toMatch(/^line \d\d x{20}$/);
      }
    }
    expect(existsSync(`${file}.3`)).toBe(false);
    const older = readFileSync(`${file}.1`, 'utf8');
    expect(Number(/line (\d\d)/.exec(older)?.[1])).toBeLessThan(19);
  });
});

describe('createLogger', () => {
  it('writes JSON lines to the destination and, with a directory, combined.log and error.log', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cc-log-'));
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const { logger, files, close } = createLogger({ level: 'info', directory: dir, destination });
    logger.debug('hidden');
    logger.info({ headers: { authorization: 'Bearer cck_secret' } }, 'request');
    logger.warn({ instance: { auth: { type: 'bearer', token: 'tok_secret' } } }, 'changed');
    logger.error({ password: 'pw_secret' }, 'failed');
    close();
    expect(files).toEqual([path.join(dir, 'combined.log'), path.join(dir, 'error.log')]);
    const combined = readFileSync(path.join(dir, 'combined.log'), 'utf8').trim().split('\n');
    const errors = readFileSync(path.join(dir, 'error.log'), 'utf8').trim().split('\n');
    expect(combined.map((l) => JSON.parse(l).msg)).toEqual(['request', 'changed', 'failed']);
    expect(errors.map((l) => JSON.parse(l).msg)).toEqual(['failed']);
    expect(lines.join('').trim().split('\n')).toHaveLength(3);
    const all = [...combined, ...lines].join('\n');
    for (const secret of ['cck_secret', 'tok_secret', 'pw_secret'])
      expect(all).not.toContain(secret);
    expect(JSON.parse(combined[1] ?? '{}').instance.auth).toEqual({
      type: 'bearer',
      token: '[redacted]',
    });
  });
});
