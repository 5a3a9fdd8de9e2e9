/**
 * What the target can run, known before the tests are collected, so a test a real server cannot run
 * is skipped with a reason instead of failing. The emulator is assumed to have every model-free
 * node the recordings use: if it lacks one, the test must fail, not skip.
 */
import { it, type TestFunction } from 'vitest';
import { jsonCall } from './http.js';
import { realServerUrl } from './target.js';

export interface TargetCapabilities {
  readonly kind: 'emulator' | 'real';
  /** Node classes of a real server (from /object_info); undefined for the emulator. */
  readonly nodes: ReadonlySet<string> | undefined;
  /** Whether this process can reach the server's input folder. */
  readonly inputDirAccess: boolean;
  /** Whether tests may clear the server's queue and history. */
  readonly destructive: boolean;
}

/** What a test needs beyond plain HTTP/WS access. */
export interface Requirement {
  /** Node classes its prompts use. */
  nodes?: readonly string[];
  /** It deletes a file from the input folder behind the server's back. */
  inputDirAccess?: boolean;
  /** It clears the whole queue or history. */
  destructive?: boolean;
}

/**
 * Probes the target: for a real server, GET /object_info once. Call with top-level await in a test
 * file (skip conditions are evaluated when tests are collected).
 *
 * @example
 * const caps = await probeCapabilities();
 * itWhen(caps, { nodes: ['SaveImageWebsocket'] })('binary frames', async () => { ... });
 */
export async function probeCapabilities(): Promise<TargetCapabilities> {
  const url = realServerUrl();
  if (url === undefined) {
    return { kind: 'emulator', nodes: undefined, inputDirAccess: true, destructive: true };
  }
  let info: unknown;
  try {
    info = await jsonCall(url, 'GET', '/object_info');
  } catch (err) {
    throw new Error(`COMFYUI_URL=${url}: GET /object_info failed: ${(err as Error).message}`);
  }
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    throw new Error(`COMFYUI_URL=${url}: /object_info is not a JSON object`);
  }
  return {
    kind: 'real',
    nodes: new Set(Object.keys(info)),
    inputDirAccess: Boolean(process.env.COMFYUI_INPUT_DIR?.trim()),
    destructive: process.env.COMFYUI_CONTRACT_DESTRUCTIVE === '1',
  };
}

/**
 * Why the target cannot run a test with this requirement, or undefined when it can.
 *
 * @example
 * unmetReason(caps, { nodes: ['SaveImageWebsocket'] }); // 'the server lacks node SaveImageWebsocket'
 */
export function unmetReason(caps: TargetCapabilities, req: Requirement): string | undefined {
  const reasons: string[] = [];
  const missing = (req.nodes ?? []).filter((n) => caps.nodes !== undefined && !caps.nodes.has(n));
  if (missing.length) {
    reasons.push(`the server lacks node${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  if (req.inputDirAccess && !caps.inputDirAccess) {
    reasons.push(
      "it deletes a file from the server's input folder: set COMFYUI_INPUT_DIR to that folder",
    );
  }
  if (req.destructive && !caps.destructive) {
    reasons.push(
      "it clears the server's whole queue or history: set COMFYUI_CONTRACT_DESTRUCTIVE=1 to allow it",
    );
  }
  return reasons.length ? reasons.join('; ') : undefined;
}

/**
 * `it`, skipped (with the reason in its title and on stderr) when the target cannot meet `req`.
 *
 * @example
 * itWhen(caps, { destructive: true })('POST /history {clear}', async () => { ... }, 20_000);
 */
export function itWhen(
  caps: TargetCapabilities,
  req: Requirement,
): (name: string, fn: TestFunction, timeout?: number) => void {
  const reason = unmetReason(caps, req);
  return (name, fn, timeout) => {
    if (reason) console.warn(`[contract] skipping "${name}": ${reason}`);
    it.skipIf(reason !== undefined)(reason ? `${name} [skipped: ${reason}]` : name, fn, timeout);
  };
}
