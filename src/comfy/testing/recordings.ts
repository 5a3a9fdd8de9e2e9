/**
 * Reads the exchanges recorded from a real ComfyUI 0.8.0 (../shared/comfyui-protocol beside the
 * project), so tests can replay ComfyUI's exact answers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const recordingsDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/comfyui-protocol',
);

export interface RecordedExchange {
  name: string;
  request: {
    method: string;
    path: string;
    query: string | null;
    body_json?: unknown;
    body_raw?: string;
  };
  response: {
    status: number;
    headers: Record<string, string>;
    body_json?: unknown;
    body_text?: string;
  };
}

export interface Recording {
  exchanges: RecordedExchange[];
  ws?: Array<{ label: string; messages: Array<{ dir?: string; kind: string; json?: unknown }> }>;
}

export function loadRecording(file: string): Recording {
  return JSON.parse(readFileSync(path.join(recordingsDir, file), 'utf8')) as Recording;
}

export function loadWorkflow(
  name: string,
): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  return JSON.parse(readFileSync(path.join(recordingsDir, 'workflows', name), 'utf8')) as Record<
    string,
    { class_type: string; inputs: Record<string, unknown> }
  >;
}
