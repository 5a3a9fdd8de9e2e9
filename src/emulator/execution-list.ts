/**
 * Which node runs next, in ComfyUI's order: outputs and their uncached ancestors are collected
 * depth-first from a stack (ComfyUI's ExecutionList.add_node), and among the ready nodes an output
 * node is preferred, then a node feeding an output, then one two links away, then the first.
 */
import type { ApiPrompt, JsonValue } from '../comfy/protocol.js';

/** `[node id, output index]`, as ComfyUI's is_link checks. */
export function isLink(value: JsonValue | undefined): value is [string, number] {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'string' &&
    typeof value[1] === 'number'
  );
}

/**
 * The pending nodes of one prompt and what blocks them.
 *
 * @example
 * const list = new ExecutionList(prompt, (id) => cache.has(id), (id) => outputs.has(id));
 * list.addNode('9');
 * for (let id = list.stage(); id !== undefined; id = list.stage()) list.complete(id);
 */
export class ExecutionList {
  private readonly pending = new Map<string, true>();
  private readonly blockCount = new Map<string, number>();
  private readonly blocking = new Map<string, Map<string, Set<number>>>();

  constructor(
    private readonly prompt: ApiPrompt,
    private readonly isCached: (nodeId: string) => boolean,
    private readonly isOutput: (nodeId: string) => boolean,
  ) {}

  isEmpty(): boolean {
    return this.pending.size === 0;
  }

  addNode(start: string): void {
    const stack = [start];
    const links: [string, number, string][] = [];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (this.pending.has(id)) continue;
      this.pending.set(id, true);
      this.blockCount.set(id, 0);
      this.blocking.set(id, new Map());
      const inputs = this.prompt[id]?.inputs ?? {};
      for (const name in inputs) {
        const value = inputs[name];
        if (!isLink(value)) continue;
        const [from, socket] = value;
        if (!this.isCached(from)) stack.push(from);
        links.push([from, socket, id]);
      }
    }
    for (const [from, socket, to] of links) this.addStrongLink(from, socket, to);
  }

  /** The next node to run; undefined when none is ready (a dependency cycle). */
  stage(): string | undefined {
    const ready: string[] = [];
    for (const id of this.pending.keys()) if (this.blockCount.get(id) === 0) ready.push(id);
    if (ready.length === 0) return undefined;
    for (const id of ready) if (this.isOutput(id)) return id;
    for (const id of ready) {
      for (const blocked of this.blocking.get(id)?.keys() ?? []) {
        if (this.isOutput(blocked)) return id;
      }
    }
    for (const id of ready) {
      for (const blocked of this.blocking.get(id)?.keys() ?? []) {
        for (const blocked2 of this.blocking.get(blocked)?.keys() ?? []) {
          if (this.isOutput(blocked2)) return id;
        }
      }
    }
    return ready[0];
  }

  /** Marks a node done: the nodes it blocked may become ready. */
  complete(id: string): void {
    this.pending.delete(id);
    for (const blocked of this.blocking.get(id)?.keys() ?? []) {
      this.blockCount.set(blocked, (this.blockCount.get(blocked) ?? 1) - 1);
    }
    this.blocking.delete(id);
  }

  /** Nodes still pending (for the cycle error message). */
  pendingNodes(): string[] {
    return [...this.pending.keys()];
  }

  private addStrongLink(from: string, socket: number, to: string): void {
    if (this.isCached(from)) return;
    this.addNode(from);
    const blocked = this.blocking.get(from);
    if (blocked === undefined) return;
    let sockets = blocked.get(to);
    if (sockets === undefined) {
      sockets = new Set();
      blocked.set(to, sockets);
      this.blockCount.set(to, (this.blockCount.get(to) ?? 0) + 1);
    }
    sockets.add(socket);
  }
}
