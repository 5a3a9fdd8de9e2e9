/**
 * Everything the routes of one emulated instance share: directories, models, the node registry,
 * queue, executor, sockets, faults and counters. Built by startEmulator.
 */
import type { ApiPrompt, InputSpec, NodeInfo } from '../comfy/protocol.js';
import type { StatsCounter } from './emulator-stats.js';
import type { ClassFacts, Executor } from './executor.js';
import type { FaultState } from './fault-state.js';
import type { ModelLists, NodeEnvironment, NodeRegistry } from './nodes/types.js';
import type { DeviceProfile } from './options.js';
import type { PromptQueue } from './prompt-queue.js';
import { PyFloat, pyJson } from './py-json.js';
import type { WsHub } from './ws-hub.js';

export interface Dirs {
  input: string;
  output: string;
  temp: string;
  user: string;
}

/** Per-class facts the serialisers and the executor need. */
export interface ClassInfo extends ClassFacts {
  /** Inputs declared FLOAT: Python holds their values as floats (`2.0`). */
  floatInputs: Set<string>;
}

export interface AppContext {
  readonly dirs: Dirs;
  models: ModelLists;
  readonly registry: NodeRegistry;
  readonly queue: PromptQueue;
  readonly hub: WsHub;
  readonly executor: Executor;
  readonly faults: FaultState;
  readonly stats: StatsCounter;
  readonly version: string;
  readonly device: DeviceProfile;
  readonly argv: string[];
  readonly maxUploadBytes: number;
  /** max_upload_size is a float when it was configured (as with --max-upload-size). */
  readonly maxUploadIsFloat: boolean;
  readonly maxHistory: number;
  /** POST /prompt's priority counter. */
  counter: number;
  speed: number;
  readonly startedAt: number;
  env(): NodeEnvironment;
  classInfo(classType: string): ClassInfo | undefined;
  /** JSON of a prompt, FLOAT inputs written as floats. */
  promptJson(prompt: ApiPrompt): string;
  /** Server feature flags JSON (/features and the WS reply). */
  featuresJson(): string;
  /** Set only in a child process (main.ts): POST /__emulator/exit ends it. */
  onExitRequest: ((code: number) => void) | undefined;
}

/** Builds the per-class fact lookup (computed once per class; FLOAT-ness never changes). */
export function classInfoLookup(
  registry: NodeRegistry,
  env: () => NodeEnvironment,
): (classType: string) => ClassInfo | undefined {
  const known = new Map<string, ClassInfo | null>();
  return (classType) => {
    const cached = known.get(classType);
    if (cached !== undefined) return cached ?? undefined;
    const definition = registry.get(classType);
    if (definition === undefined) {
      known.set(classType, null);
      return undefined;
    }
    let info: NodeInfo | undefined;
    try {
      info = definition.info(env());
    } catch {
      info = undefined;
    }
    const floatInputs = new Set<string>();
    for (const group of [info?.input.required, info?.input.optional]) {
      if (group === undefined) continue;
      for (const [name, spec] of Object.entries(group))
        if (spec[0] === 'FLOAT') floatInputs.add(name);
    }
    const result: ClassInfo = { isOutput: info?.output_node === true, floatInputs };
    known.set(classType, result);
    return result;
  };
}

/** Serialises a prompt with its FLOAT inputs as floats. */
export function serializePrompt(
  prompt: ApiPrompt,
  classInfo: (classType: string) => ClassInfo | undefined,
): string {
  if (typeof prompt !== 'object' || prompt === null || Array.isArray(prompt)) return pyJson(prompt);
  const out: Record<string, unknown> = {};
  for (const id in prompt) {
    const node = prompt[id];
    const floats =
      node?.class_type === undefined ? undefined : classInfo(node.class_type)?.floatInputs;
    if (
      node === undefined ||
      floats === undefined ||
      floats.size === 0 ||
      typeof node.inputs !== 'object'
    ) {
      out[id] = node;
      continue;
    }
    const inputs: Record<string, unknown> = {};
    for (const name in node.inputs) {
      const value = node.inputs[name];
      inputs[name] = floats.has(name) && typeof value === 'number' ? new PyFloat(value) : value;
    }
    out[id] = { ...node, inputs };
  }
  return pyJson(out);
}

/** /object_info JSON: options of FLOAT inputs (default, min, max, step, round) as floats. */
export function serializeObjectInfo(info: Record<string, NodeInfo>): string {
  const out: Record<string, unknown> = {};
  for (const name in info) {
    const node = info[name];
    if (node === undefined) continue;
    out[name] = { ...node, input: floatSpecs(node.input) };
  }
  return pyJson(out);
}

const FLOAT_OPTIONS = ['default', 'min', 'max', 'step', 'round'];

function floatSpecs(input: NodeInfo['input']): unknown {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input) as (keyof NodeInfo['input'])[]) {
    const group = input[key];
    if (key === 'hidden' || group === undefined) {
      out[key] = group;
      continue;
    }
    const specs: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(group as Record<string, InputSpec>)) {
      if (spec[0] !== 'FLOAT' || spec[1] === undefined) {
        specs[name] = spec;
        continue;
      }
      const options: Record<string, unknown> = { ...spec[1] };
      for (const option of FLOAT_OPTIONS) {
        const value = options[option];
        if (typeof value === 'number') options[option] = new PyFloat(value);
      }
      specs[name] = [spec[0], options];
    }
    out[key] = specs;
  }
  return out;
}
