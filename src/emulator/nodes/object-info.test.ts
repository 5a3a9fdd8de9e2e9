import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeRegistry, UnknownNodePackError } from './index.js';
import { createTestContext, type TestContext } from './testing/test-context.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const recordings = path.resolve(repoRoot, '../shared/comfyui-protocol');

interface Recording {
  exchanges: Array<{
    name: string;
    request: { path: string };
    response: { body_json: unknown; truncated?: { all_node_names: string[] } };
  }>;
}
const recording = JSON.parse(
  readFileSync(path.join(recordings, 'http_object_info.json'), 'utf8'),
) as Recording;

let ctx: TestContext;
beforeAll(() => {
  ctx = createTestContext({ models: { checkpoints: [] } });
  // The input files present when /object_info was recorded (LoadImage lists them).
  for (const n of ['gw_api.png', 'gw_upload (1).png', 'gw_upload.png', 'gw_upload2.png']) {
    writeFileSync(path.join(ctx.dirs.input, n), '');
  }
});
afterAll(() => ctx.cleanup());

describe('object_info', () => {
  const registry = createNodeRegistry();

  for (const e of recording.exchanges) {
    const body = e.response.body_json as Record<string, unknown>;
    for (const [name, expected] of Object.entries(body)) {
      it(`${e.request.path}: ${name} is exactly as recorded (keys in order)`, () => {
        const def = registry.get(name);
        expect(def, name).toBeDefined();
        if (!def) return;
        const actual = def.info(ctx);
        expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
      });
    }
  }

  it('lists classes in registration order and only real ComfyUI names for core nodes', () => {
    const all = recording.exchanges[0]?.response.truncated;
    const names = registry.names();
    expect(Object.keys(registry.objectInfo(ctx))).toEqual(names);
    const real = new Set(all?.all_node_names ?? []);
    for (const n of names) if (n !== 'SaveImageWebsocket') expect(real.has(n), n).toBe(true);
  });

  it('rejects an unknown pack with a clear error', () => {
    expect(() => createNodeRegistry({ packs: ['nope'] })).toThrow(UnknownNodePackError);
  });
});
