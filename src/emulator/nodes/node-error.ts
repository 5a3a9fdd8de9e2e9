/**
 * Runtime failures of emulated nodes, spelled like the Python exceptions a real node raises.
 */
import { NodeExecutionError } from './types.js';

/**
 * A NodeExecutionError that also carries the node's own traceback frames (Python's
 * `traceback.format_tb` lines for the frames inside the node). An executor puts its own frames
 * first and these after them.
 */
export class PythonNodeError extends NodeExecutionError {
  constructor(
    exceptionType: string,
    message: string,
    readonly traceback: string[] = [],
  ) {
    super(exceptionType, message);
    this.name = 'PythonNodeError';
  }
}

/**
 * One `traceback.format_tb` entry.
 *
 * @example
 * tracebackFrame('/srv/ComfyUI/nodes.py', 1664, 'load_image', 'img = open(image_path)');
 */
export function tracebackFrame(file: string, line: number, fn: string, code: string): string {
  return `  File "${file}", line ${line}, in ${fn}\n    ${code}\n`;
}

/** Where the emulated ComfyUI "is installed", as shown in tracebacks. */
export const COMFY_ROOT = '/srv/ComfyUI';

/** Python's TypeError for a node function called without one of its arguments. */
export function missingArgument(fn: string, name: string): PythonNodeError {
  return new PythonNodeError(
    'TypeError',
    `${fn}() missing 1 required positional argument: '${name}'`,
  );
}
