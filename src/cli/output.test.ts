import { describe, expect, it } from 'vitest';
import { formatAge, formatBytes, formatDuration, shortId, table } from './output.js';

describe('table', () => {
  it('aligns columns under upper-case headers, numbers on the right, no trailing blanks', () => {
    expect(
      table(
        [{ header: 'name' }, { header: 'queue', align: 'right' }, { header: 'note' }],
        [
          ['gpu-1', '3', ''],
          ['a-longer-name', '12', 'paused…'],
        ],
      ),
    ).toBe(
      ['NAME           QUEUE  NOTE', 'gpu-1              3', 'a-longer-name     12  paused…'].join(
        '\n',
      ),
    );
  });
});

describe('formatting', () => {
  it('durations, ages, sizes and short ids for people', () => {
    expect([0, 850, 12_340, 125_000, 7_800_000].map(formatDuration)).toEqual([
      '0ms',
      '850ms',
      '12.3s',
      '2m05s',
      '2h10m',
    ]);
    expect(formatDuration(null)).toBe('-');
    const now = Date.parse('2026-01-02T00:00:00Z');
    expect(
      [
        '2026-01-01T23:59:55Z',
        '2026-01-01T23:57:00Z',
        '2026-01-01T21:00:00Z',
        '2025-12-29T00:00:00Z',
      ].map((t) => formatAge(t, now)),
    ).toEqual(['5s ago', '3m ago', '3h ago', '4d ago']);
    expect(formatAge(null)).toBe('-');
    expect([374, 2048, 3.5 * 1024 * 1024].map(formatBytes)).toEqual([
      '374 B',
      '2.0 KiB',
      '3.5 MiB',
    ]);
    expect(shortId('7d88e267-42f7-410c-ad26-f3ab4d2e75e9')).toBe('7d88e267');
    expect(shortId('key_0123')).toBe('key_0123');
  });
});
