/**
 * The emulator's node set: every node class an emulated ComfyUI has, with its `/object_info` entry,
 * its validation hooks and what it does when run (real pixel work for image nodes, simulated GPU
 * time for model nodes).
 *
 * @example
 * const registry = createNodeRegistry({ packs: ['remove-background'] });
 * const info = registry.objectInfo(env);
 * const result = await registry.get('EmptyImage')?.run({ width: 8, height: 8, batch_size: 1, color: 0 }, ctx);
 */
import { EmulatedNodeRegistry } from './node-registry.js';
import { coreNodes, knownPacks, NODE_PACKS } from './packs.js';

export interface NodeRegistryOptions {
  /** Optional custom node packs to install, e.g. ["remove-background"]. */
  packs?: readonly string[];
}

/** An unknown pack name was asked for. */
export class UnknownNodePackError extends Error {
  constructor(readonly pack: string) {
    super(`Unknown node pack "${pack}". Known packs: ${knownPacks().join(', ') || '(none)'}`);
    this.name = 'UnknownNodePackError';
  }
}

/**
 * Builds the node registry of one emulated instance. Each call gives independent state (SaveImage
 * counters), so give each instance its own registry.
 *
 * @example
 * const registry = createNodeRegistry();
 * registry.get('SaveImage')?.info(env).output_node; // true
 */
export function createNodeRegistry(options: NodeRegistryOptions = {}): EmulatedNodeRegistry {
  const registry = new EmulatedNodeRegistry();
  registry.add(coreNodes(registry));
  for (const name of options.packs ?? []) {
    const pack = NODE_PACKS[name];
    if (!pack) throw new UnknownNodePackError(name);
    registry.add(pack.create(registry));
  }
  return registry;
}

export {
  PyFloat,
  pyFloatRepr,
  pyJsonDumps,
  pyRepr,
  pyStr,
  pyStrRepr,
} from '../../comfy/python-format.js';
export { fileSha256, listInputImages } from './files.js';
export { COMFY_ROOT, PythonNodeError, tracebackFrame } from './node-error.js';
export { EmulatedNodeRegistry } from './node-registry.js';
export type { NodeSetContext } from './node-set.js';
export type { EmulatedNodeDefinition, NodeSpec } from './node-spec.js';
export { knownPacks, NODE_PACKS, type NodePack } from './packs.js';
export { SavePathAllocator } from './save-path.js';
export * from './types.js';
