/**
 * Traceback frames of exceptions raised during validation, as ComfyUI 0.8.0 reports them
 * (`traceback.format_tb`, Python 3.11 with its caret lines). Frames seen in the recordings are
 * reproduced exactly; the others follow the same layout.
 */
import { COMFY_ROOT } from '../nodes/index.js';

const EXECUTION_PY = `${COMFY_ROOT}/execution.py`;

/**
 * One frame; `marker` is the caret line under the failing expression (starting at its column), or
 * undefined when Python leaves it out.
 */
function frame(line: number, fn: string, code: string, marker?: string): string {
  return `  File "${EXECUTION_PY}", line ${line}, in ${fn}\n    ${code}\n${marker === undefined ? '' : `    ${marker}\n`}`;
}

function callMarker(code: string, expr: string): string {
  const at = code.indexOf(expr);
  return ' '.repeat(at) + '^'.repeat(expr.length);
}

const VALIDATE_CALL = 'm = await validate_inputs(prompt_id, prompt, o, validated)';
const INNER_CALL = 'r = await validate_inputs(prompt_id, prompt, o_id, validated)';

/** validate_prompt calling validate_inputs for an output. */
export const VALIDATE_PROMPT_FRAME = frame(
  1043,
  'validate_prompt',
  VALIDATE_CALL,
  callMarker(VALIDATE_CALL, 'await validate_inputs(prompt_id, prompt, o, validated)'),
);

/** validate_inputs calling itself for a linked node. */
export const INNER_VALIDATE_FRAME = frame(
  868,
  'validate_inputs',
  INNER_CALL,
  callMarker(INNER_CALL, 'await validate_inputs(prompt_id, prompt, o_id, validated)'),
);

/** `prompt[o_id]` with an unknown node id. */
export const LINKED_NODE_FRAME = frame(
  818,
  'validate_inputs',
  "o_class_type = prompt[o_id]['class_type']",
  '               ~~~~~~^^^^^^',
);

/** `RETURN_TYPES[slot]` with a bad slot. */
export const RETURN_TYPE_FRAME = frame(
  820,
  'validate_inputs',
  'received_type = r[val[1]]',
  '                ~^^^^^^^^',
);

/** `prompt[unique_id]['inputs']` on a node without inputs. */
export const NODE_INPUTS_FRAME = frame(
  795,
  'validate_inputs',
  "inputs = prompt[unique_id]['inputs']",
  '         ~~~~~~~~~~~~~~~~~^^^^^^^^^^',
);

/** A node's own VALIDATE_INPUTS raising (e.g. called without its argument). */
export const CUSTOM_VALIDATE_FRAMES = [
  frame(
    957,
    'validate_inputs',
    'ret = await _async_map_node_over_list(prompt_id, unique_id, obj_class, input_filtered, validate_function_name, v3_data=v3_data)',
    callMarker(
      'ret = await _async_map_node_over_list(prompt_id, unique_id, obj_class, input_filtered, validate_function_name, v3_data=v3_data)',
      'await _async_map_node_over_list(prompt_id, unique_id, obj_class, input_filtered, validate_function_name, v3_data=v3_data)',
    ),
  ),
  frame(301, '_async_map_node_over_list', 'await process_inputs({})'),
  frame(291, 'process_inputs', 'result = f(**inputs)', '         ^^^^^^^^^^^'),
];

/** A frame for membership / indexing checks on malformed inputs. */
export const INPUT_ACCESS_FRAME = frame(
  826,
  'validate_inputs',
  'val = inputs[x]',
  '      ~~~~~~^^^',
);
