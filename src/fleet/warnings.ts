import type { TextPosition } from './errors.js';

/** Kinds of configuration warnings. */
export type ConfigWarningCode =
  | 'invalid_json'
  | 'invalid_value'
  | 'invalid_entry'
  | 'unknown_field'
  | 'duplicate_instance'
  | 'ignored_variable'
  | 'fallback'
  | 'config_migrated'
  | 'unknown_active_instance';

/**
 * A configuration problem that did not stop the gateway but must stay visible (API `/health`,
 * CLI status, dashboard): the source it came from, what is wrong, and what was done instead.
 *
 * @example
 * { code: 'invalid_json', source: 'NUKE_COMFYUI_SERVERS', position: { offset: 8, line: 1, column: 9 },
 *   message: 'NUKE_COMFYUI_SERVERS is not valid JSON at line 1, column 9 (offset 8): ...' }
 */
export interface ConfigWarning {
  code: ConfigWarningCode;
  /** Variable name (`COMFYUI_HOST_2`), flag (`--job-timeout`) or file path. */
  source: string;
  message: string;
  position?: TextPosition;
}
