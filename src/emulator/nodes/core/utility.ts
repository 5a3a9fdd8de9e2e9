/**
 * Utility nodes with non-image outputs: PreviewAny shows any value as text (UI `{"text": [...]}`),
 * PrimitiveString feeds a string into other nodes.
 */

import { pyJsonDumps, pyNumberRepr } from '../../../comfy/python-format.js';
import { NodeInputs } from '../inputs.js';
import { defineNode, type EmulatedNodeDefinition } from '../node-spec.js';
import { finishWork } from '../timing.js';

/** What PreviewAny shows for a value: strings as they are, numbers like `str()`, else JSON or `str()`. */
export function previewText(source: unknown): string {
  if (source === null || source === undefined) return 'None';
  if (typeof source === 'string') return source;
  if (typeof source === 'boolean') return source ? 'True' : 'False';
  if (typeof source === 'number') return pyNumberRepr(source);
  const proto = Object.getPrototypeOf(source);
  if (Array.isArray(source) || proto === Object.prototype || proto === null)
    return pyJsonDumps(source);
  return String(source);
}

/** ComfyUI's PreviewAny ("Preview Any"). */
export function previewAnyNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'PreviewAny',
    style: 'classic',
    displayName: 'Preview Any',
    category: 'utils',
    pythonModule: 'comfy_extras.nodes_preview_any',
    outputNode: true,
    required: [['source', ['*', {}]]],
    outputs: [],
    nominalMs: () => 1,
    async run(values, ctx) {
      const text = previewText(values.source);
      await finishWork(ctx, 1);
      return { outputs: [], ui: { text: [text] } };
    },
  });
}

/** ComfyUI's PrimitiveString ("String"). */
export function primitiveStringNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'PrimitiveString',
    style: 'v3',
    displayName: 'String',
    category: 'utils/primitive',
    pythonModule: 'comfy_extras.nodes_primitive',
    required: [['value', ['STRING', { multiline: false }]]],
    outputs: ['STRING'],
    nominalMs: () => 0,
    async run(values) {
      return { outputs: [new NodeInputs(values, 'PrimitiveString.execute').string('value')] };
    },
  });
}
