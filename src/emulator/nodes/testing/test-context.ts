/**
 * A real NodeContext for tests of the node set: temporary directories on disk, and recorders for
 * progress, previews and simulated work. Only tests import this file.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ApiPrompt, JsonObject } from '../../../comfy/protocol.js';
import {
  type EmulatorDirs,
  InterruptedError,
  type ModelLists,
  type NodeContext,
} from '../types.js';

export interface TestContext extends NodeContext {
  readonly root: string;
  readonly progressCalls: Array<[number, number]>;
  readonly previews: Array<{ image: Uint8Array; mime: string }>;
  readonly workCalls: number[];
  /** Makes the next checkInterrupt / work throw, as an interrupt does. */
  interrupt(): void;
  /** Removes the temporary directories. */
  cleanup(): void;
}

export interface TestContextOptions {
  prompt?: ApiPrompt;
  extraData?: JsonObject;
  models?: ModelLists;
  nodeId?: string;
  /** Shares directories with another test context. */
  dirs?: EmulatorDirs;
}

/**
 * @example
 * const ctx = createTestContext();
 * try { await def.run(inputs, ctx); } finally { ctx.cleanup(); }
 */
export function createTestContext(options: TestContextOptions = {}): TestContext {
  const root = mkdtempSync(path.join(tmpdir(), 'emu-nodes-'));
  const dirs: EmulatorDirs = options.dirs ?? {
    input: path.join(root, 'input'),
    output: path.join(root, 'output'),
    temp: path.join(root, 'temp'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  let interrupted = false;
  const check = () => {
    if (interrupted) throw new InterruptedError();
  };
  const ctx: TestContext = {
    root,
    dirs,
    models: options.models ?? {},
    promptId: '00000000-0000-4000-8000-000000000000',
    nodeId: options.nodeId ?? '1',
    prompt: options.prompt ?? {},
    extraData: options.extraData ?? {},
    progressCalls: [],
    previews: [],
    workCalls: [],
    progress(value, max) {
      check();
      ctx.progressCalls.push([value, max]);
    },
    checkInterrupt: check,
    async work(ms) {
      ctx.workCalls.push(ms);
      check();
    },
    sendPreview(image, mime) {
      ctx.previews.push({ image, mime });
    },
    interrupt() {
      interrupted = true;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  return ctx;
}
