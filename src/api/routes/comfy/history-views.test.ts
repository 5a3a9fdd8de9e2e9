import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryViews } from './history-views.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cc-views-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const job = (id: string, created_at: number) => ({ id, created_at });

describe('HistoryViews', () => {
  it("keeps each caller's deletes and clears across a reopen, and no one else's", async () => {
    const file = path.join(dir, 'a', 'views.json');
    const views = await HistoryViews.open(file);
    await views.delete('c1', ['j1']);
    await views.clear('c2', 100);
    expect(views.hidden('c1', job('j1', 500))).toBe(true);
    expect(views.hidden('c1', job('j2', 50))).toBe(false);
    expect(views.hidden('c2', job('j2', 50))).toBe(true);
    expect(views.hidden('c2', job('j3', 150))).toBe(false);
    expect(views.hidden('other', job('j1', 50))).toBe(false);

    const again = await HistoryViews.open(file);
    expect(again.hidden('c1', job('j1', 500))).toBe(true);
    expect(again.hidden('c2', job('j2', 50))).toBe(true);
    expect(again.hidden('c2', job('j3', 150))).toBe(false);
  });

  it('starts empty from a missing or unreadable file', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{not json');
    expect((await HistoryViews.open(bad)).hidden('c', job('j', 0))).toBe(false);
    expect((await HistoryViews.open(path.join(dir, 'none.json'))).hidden('c', job('j', 0))).toBe(
      false,
    );
  });
});
