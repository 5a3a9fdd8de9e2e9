/**
 * The node classes of one emulated instance, in registration order (which is the order of
 * `/object_info`, as NODE_CLASS_MAPPINGS' insertion order is on a real server).
 */
import type { NodeInfo } from '../../comfy/protocol.js';
import type { NodeSetContext } from './node-set.js';
import type { EmulatedNodeDefinition } from './node-spec.js';
import { SavePathAllocator } from './save-path.js';
import type { NodeEnvironment, NodeRegistry } from './types.js';

export class EmulatedNodeRegistry implements NodeRegistry, NodeSetContext {
  readonly savePaths = new SavePathAllocator();
  private readonly defs = new Map<string, EmulatedNodeDefinition>();
  private readonly floats = new Map<string, ReadonlySet<string>>();

  /** Adds classes; a later class with the same name replaces the earlier one (as in ComfyUI). */
  add(defs: Iterable<EmulatedNodeDefinition>): void {
    for (const def of defs) this.defs.set(def.name, def);
  }

  get(classType: string): EmulatedNodeDefinition | undefined {
    return typeof classType === 'string' ? this.defs.get(classType) : undefined;
  }

  names(): string[] {
    return [...this.defs.keys()];
  }

  objectInfo(env: NodeEnvironment): Record<string, NodeInfo> {
    const out: Record<string, NodeInfo> = {};
    for (const [name, def] of this.defs) out[name] = def.info(env);
    return out;
  }

  floatInputs(classType: string, env: NodeEnvironment): ReadonlySet<string> {
    const known = this.floats.get(classType);
    if (known) return known;
    const names = new Set<string>();
    const def = this.defs.get(classType);
    if (def) {
      const info = def.info(env);
      for (const group of [info.input.required, info.input.optional]) {
        for (const [name, spec] of Object.entries(group ?? {}))
          if (spec[0] === 'FLOAT') names.add(name);
      }
    }
    this.floats.set(classType, names);
    return names;
  }
}
