/**
 * Turns a WebSocket text frame into a typed message. Known types are checked for the fields this
 * client relies on; a known type with an unexpected shape is passed on as unknown rather than
 * trusted or dropped.
 */

import { isJsonObject } from './prompt-state.js';
import type { JsonValue, KnownMessageType, ServerMessage } from './protocol.js';
import { KNOWN_MESSAGE_TYPES } from './protocol.js';

export type ParseResult = { ok: true; message: ServerMessage } | { ok: false; error: string };

const KNOWN = new Set<string>(KNOWN_MESSAGE_TYPES);

function hasPromptId(data: Record<string, unknown>): boolean {
  return typeof data.prompt_id === 'string' && data.prompt_id.length > 0;
}

function shapeIsValid(type: KnownMessageType, data: unknown): boolean {
  if (!isJsonObject(data)) return false;
  switch (type) {
    case 'status': {
      const status = data.status;
      return (
        isJsonObject(status) &&
        isJsonObject(status.exec_info) &&
        typeof status.exec_info.queue_remaining === 'number'
      );
    }
    case 'executing':
      return (
        (data.node === null || typeof data.node === 'string') &&
        (data.prompt_id === undefined || typeof data.prompt_id === 'string')
      );
    case 'progress':
      return hasPromptId(data) && typeof data.value === 'number' && typeof data.max === 'number';
    case 'progress_state':
      return hasPromptId(data) && isJsonObject(data.nodes);
    case 'execution_cached':
      return hasPromptId(data) && Array.isArray(data.nodes);
    case 'feature_flags':
      return true;
    default:
      return hasPromptId(data);
  }
}

/**
 * @example
 * const parsed = parseServerMessage('{"type":"status","data":{"status":{"exec_info":{"queue_remaining":0}}}}');
 * if (parsed.ok && !('unknown' in parsed.message)) parsed.message.type; // 'status'
 */
export function parseServerMessage(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: `not JSON: ${text.slice(0, 120)}` };
  }
  if (!isJsonObject(value) || typeof value.type !== 'string') {
    return { ok: false, error: `not a {type, data} message: ${text.slice(0, 120)}` };
  }
  const type = value.type;
  const data = (value.data ?? null) as JsonValue;
  if (KNOWN.has(type) && shapeIsValid(type as KnownMessageType, data)) {
    return { ok: true, message: { type, data } as ServerMessage };
  }
  return { ok: true, message: { type, data, unknown: true } };
}
