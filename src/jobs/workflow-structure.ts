import type { NodeErrors, ValidationError } from '../comfy/index.js';

/** One structural problem of a workflow, located on a node (and input) when it has one. */
export interface StructureProblem {
  node_id: string | null;
  input: string | null;
  message: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Checks what an API-format workflow must be before any instance is asked: an object of nodes,
 * each with a `class_type` string and an `inputs` object; every link (`[node id, output index]`)
 * naming a node of the workflow and a non-negative output index. (Output index ranges, output
 * nodes and input types depend on the node definitions and are checked per instance.)
 *
 * @example
 * workflowStructureProblems({ '1': { class_type: 'SaveImage', inputs: { images: ['9', 0] } } });
 * // [{ node_id: '1', input: 'images', message: 'links to node "9", which is not in the workflow' }]
 */
export function workflowStructureProblems(workflow: unknown): StructureProblem[] {
  if (!isObject(workflow)) {
    return [{ node_id: null, input: null, message: 'the workflow must be an object of nodes' }];
  }
  const ids = Object.keys(workflow);
  if (ids.length === 0)
    return [{ node_id: null, input: null, message: 'the workflow has no nodes' }];
  const out: StructureProblem[] = [];
  for (const id of ids) {
    const node = workflow[id];
    if (!isObject(node)) {
      out.push({
        node_id: id,
        input: null,
        message: 'must be an object with class_type and inputs',
      });
      continue;
    }
    if (typeof node.class_type !== 'string' || node.class_type.trim() === '') {
      out.push({ node_id: id, input: null, message: 'has no class_type' });
    }
    if (!isObject(node.inputs)) {
      out.push({ node_id: id, input: null, message: 'has no inputs object' });
      continue;
    }
    for (const [name, value] of Object.entries(node.inputs)) {
      if (!Array.isArray(value)) continue;
      if (value.length !== 2) {
        out.push({
          node_id: id,
          input: name,
          message:
            'a list is a link and must be [node id, output index] (wrap a literal list as {"__value__": [...]})',
        });
        continue;
      }
      const [target, index] = value;
      if (typeof target !== 'string' || !Object.hasOwn(workflow, target)) {
        out.push({
          node_id: id,
          input: name,
          message: `links to node ${JSON.stringify(target)}, which is not in the workflow`,
        });
      } else if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) {
        out.push({
          node_id: id,
          input: name,
          message: `links to output ${JSON.stringify(index)} of node "${target}"; an output index is an integer >= 0`,
        });
      }
    }
  }
  return out;
}

/**
 * Structure problems as ComfyUI-shaped errors (`invalid_prompt` at the top, one
 * `invalid_structure` entry per node).
 *
 * @example
 * const { error, nodeErrors } = structureErrors(problems, workflow);
 */
export function structureErrors(
  problems: readonly StructureProblem[],
  workflow: unknown,
): { error: ValidationError; nodeErrors: NodeErrors } {
  const nodeErrors: NodeErrors = {};
  for (const p of problems) {
    if (p.node_id === null) continue;
    const node = isObject(workflow) ? workflow[p.node_id] : undefined;
    const classType = isObject(node) && typeof node.class_type === 'string' ? node.class_type : '';
    let entry = nodeErrors[p.node_id];
    if (!entry) {
      entry = { errors: [], dependent_outputs: [], class_type: classType };
      nodeErrors[p.node_id] = entry;
    }
    entry.errors.push({
      type: 'invalid_structure',
      message: p.message,
      details: p.input ?? '',
      extra_info: p.input === null ? {} : { input_name: p.input },
    });
  }
  const lines = problems.map((p) =>
    p.node_id === null
      ? p.message
      : `node ${p.node_id}${p.input ? ` input ${p.input}` : ''}: ${p.message}`,
  );
  return {
    error: {
      type: 'invalid_prompt',
      message: `Invalid workflow: ${lines[0] ?? 'unknown problem'}`,
      details: lines.join('\n'),
      extra_info: {},
    },
    nodeErrors,
  };
}
