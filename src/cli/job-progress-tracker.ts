import type { JobEvent } from '../client/index.js';
import type { JobProgressState } from './progress.js';

/**
 * Turns one job's events into display changes. The gateway's progress snapshot keeps the last
 * step count when the next node starts, and its percent is the running node's; this gives the
 * whole job's percent instead (nodes done — seen running, or feeding the running one — plus the
 * running node's share, over the workflow's node count) and drops a step count that belongs to an earlier node.
 *
 * @example
 * const tracker = new JobProgressTracker(workflow, (id) => names.name(id));
 * display.update(job.id, tracker.change(event) ?? {});
 */
export class JobProgressTracker {
  readonly #workflow: Record<string, unknown> | undefined;
  readonly #instanceName: (id: string | null) => string | null;
  readonly #seen = new Set<string>();
  #node: string | null = null;
  #step: number | null = null;
  #steps: number | null = null;
  /** The node the current step count was reported for. */
  #stepNode: string | null = null;

  constructor(
    workflow: Record<string, unknown> | undefined,
    instanceName: (id: string | null) => string | null,
  ) {
    this.#workflow = workflow;
    this.#instanceName = instanceName;
  }

  /** The class of a node of the workflow, when known. */
  classOf(node: string): string | null {
    const entry = this.#workflow?.[node];
    if (typeof entry !== 'object' || entry === null) return null;
    const cls = (entry as { class_type?: unknown }).class_type;
    return typeof cls === 'string' ? cls : null;
  }

  /** What an event changes (undefined: nothing to show). */
  change(e: JobEvent): Partial<JobProgressState> | undefined {
    const d = e.data;
    const change: Partial<JobProgressState> = {};
    if (d.status !== undefined) change.status = d.status;
    if (d.phase !== undefined) change.phase = d.phase;
    if (d.instance_id !== undefined) change.instance = this.#instanceName(d.instance_id);
    if (e.type === 'job.progress') Object.assign(change, this.#progress(e));
    if (e.type === 'job.status' && d.status === 'pending') {
      // Back in the gateway's queue (its instance was lost): start over.
      this.#seen.clear();
      this.#node = this.#stepNode = null;
      this.#step = this.#steps = null;
      Object.assign(change, { percent: null, node: null, step: null, steps: null, instance: null });
    }
    if (e.type === 'job.cancel_requested') change.phase = 'cancelling';
    return Object.keys(change).length === 0 ? undefined : change;
  }

  /** The nodes a node takes input from, directly or not (links are `[node id, output]`). */
  #ancestors(node: string): Set<string> {
    const found = new Set<string>();
    const stack = [node];
    for (let guard = 0; stack.length > 0 && guard < 100_000; guard++) {
      const entry = this.#workflow?.[stack.pop() as string];
      const inputs = (entry as { inputs?: unknown } | undefined)?.inputs;
      if (typeof inputs !== 'object' || inputs === null) continue;
      for (const value of Object.values(inputs)) {
        if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string') {
          const from = value[0];
          if (!found.has(from) && this.#workflow?.[from] !== undefined) {
            found.add(from);
            stack.push(from);
          }
        }
      }
    }
    return found;
  }

  #progress(e: JobEvent): Partial<JobProgressState> {
    const d = e.data;
    const node = typeof d.node === 'string' ? d.node : this.#node;
    const step = d.step ?? null;
    const steps = d.steps ?? null;
    const stepChanged = step !== this.#step || steps !== this.#steps;
    const nodeChanged = node !== this.#node;
    if (node !== null && nodeChanged) this.#seen.add(node);
    // A finished count arriving with a new node is the previous node's last tick (the gateway's
    // snapshot merges them); a node that just started is not at its last step yet.
    const previousNodesLast = nodeChanged && step !== null && step === steps;
    if (stepChanged && step !== null && !previousNodesLast) this.#stepNode = node;
    else if (previousNodesLast) this.#stepNode = null;
    this.#node = node;
    this.#step = step;
    this.#steps = steps;
    const fresh = step !== null && steps !== null && steps > 0 && this.#stepNode === node;
    const total = this.#workflow ? Object.keys(this.#workflow).length : 0;
    let percent: number | null = null;
    if (total > 0 && node !== null) {
      // Nodes before this one: every one seen running, and every one it takes input from.
      const before = new Set([...this.#seen, ...this.#ancestors(node)]);
      before.delete(node);
      const done = before.size + (fresh ? (step as number) / (steps as number) : 0);
      percent = Math.min(99, (done / total) * 100);
    } else if (fresh) {
      percent = ((step as number) / (steps as number)) * 100;
    }
    return {
      percent,
      node,
      nodeClass: node === null ? null : this.classOf(node),
      step: fresh ? step : null,
      steps: fresh ? steps : null,
    };
  }
}
