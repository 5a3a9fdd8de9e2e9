/**
 * Typed access to the exchanges recorded from a real ComfyUI 0.8.0
 * (../shared/comfyui-protocol/*.json beside the project; format in that folder's README.md).
 * Files are parsed with wire key order kept (ordered-json.ts), so key order can be compared.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiPrompt, JsonObject, JsonValue } from '../../src/comfy/protocol.js';
import { parseJsonOrdered } from './ordered-json.js';

/** The project root (the folder holding package.json). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the recordings live. */
export const transcriptDir = path.resolve(repoRoot, '../shared/comfyui-protocol');

/** A binary body or file part, described rather than stored (base64 only up to 4 KiB). */
export interface RecordedBinary {
  length: number;
  sha256: string;
  first_bytes_hex: string;
  format?: string;
  /** [width, height] */
  png_size?: [number, number];
  base64?: string;
}

export type RecordedMultipartPart =
  | { name: string; value: string }
  | { name: string; filename: string; content_type: string; file: RecordedBinary };

export interface RecordedRequest {
  method: string;
  path: string;
  /** The raw query string (without "?"), or null. */
  query: string | null;
  headers?: Record<string, string>;
  body_json?: JsonValue;
  body_raw?: string;
  body_multipart?: RecordedMultipartPart[];
}

export interface RecordedResponse {
  status: number;
  reason: string;
  /** Every header but Date, as the server spelled them. */
  headers: Record<string, string>;
  body_json?: JsonValue;
  body_text?: string;
  body_binary?: RecordedBinary;
  truncated?: JsonObject;
}

export interface RecordedExchange {
  name: string;
  request: RecordedRequest;
  response: RecordedResponse;
  elapsed_ms: number;
  note?: string;
}

export type WsDirection = 'server->client' | 'client->server';

export interface RecordedWsText {
  t_ms: number;
  dir: WsDirection;
  kind: 'text';
  json: { type: string; data: JsonValue };
}

export interface RecordedWsBinary {
  t_ms: number;
  dir: WsDirection;
  kind: 'binary';
  length: number;
  first_16_bytes_hex: string;
  event_type_u32be: number;
  event_name: string;
  image_type_u32be?: number;
  image_format?: string;
  metadata_length_u32be?: number;
  metadata_json?: JsonObject;
  image: RecordedBinary;
  framing: string;
}

export interface RecordedWsMarker {
  t_ms: number;
  kind: 'marker';
  note: string;
}

export type RecordedWsMessage = RecordedWsText | RecordedWsBinary | RecordedWsMarker;

export interface RecordedSocket {
  label: string;
  url: string;
  messages: RecordedWsMessage[];
}

export interface Transcript {
  /** File name without .json. */
  file: string;
  title: string;
  notes: string[];
  meta: { server: string; recorded_at_utc: string; recorder?: string };
  exchanges: RecordedExchange[];
  ws?: RecordedSocket[];
  /** Names the recorder gave to the prompt ids it created. */
  prompt_ids?: Record<string, string>;
  [extra: string]: unknown;
}

/**
 * Loads one recording by file name (with or without .json); throws a clear error if it is missing
 * or not in the documented format.
 *
 * @example
 * const t = loadTranscript('http_view');
 * const ex = exchange(t, 'view output PNG');
 */
export function loadTranscript(name: string): Transcript {
  const file = name.replace(/\.json$/, '');
  const full = path.join(transcriptDir, `${file}.json`);
  let parsed: JsonValue;
  try {
    parsed = parseJsonOrdered(readFileSync(full, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read transcript ${full}: ${(err as Error).message}`);
  }
  const problem = checkTranscript(parsed);
  if (problem) throw new Error(`transcript ${full} is not in the recorded format: ${problem}`);
  return { ...(parsed as unknown as Transcript), file };
}

function checkTranscript(value: JsonValue): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  if (typeof value.title !== 'string') return 'no title';
  if (!Array.isArray(value.exchanges)) return 'no exchanges[]';
  for (const [i, ex] of value.exchanges.entries()) {
    if (typeof ex !== 'object' || ex === null || Array.isArray(ex)) return `exchanges[${i}]`;
    const { request, response } = ex as Record<string, JsonValue>;
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return `exchanges[${i}].request`;
    }
    if (typeof response !== 'object' || response === null || Array.isArray(response)) {
      return `exchanges[${i}].response`;
    }
    if (typeof response.status !== 'number') return `exchanges[${i}].response.status`;
  }
  if (value.ws !== undefined && !Array.isArray(value.ws)) return 'ws is not an array';
  return undefined;
}

/**
 * The exchange with this exact name; throws listing the names there are.
 *
 * @example
 * exchange(loadTranscript('http_basic_get'), 'GET /queue').response.body_json;
 */
export function exchange(transcript: Transcript, name: string): RecordedExchange {
  const found = transcript.exchanges.find((e) => e.name === name);
  if (!found) {
    const names = transcript.exchanges.map((e) => `  ${e.name}`).join('\n');
    throw new Error(`no exchange named ${JSON.stringify(name)} in ${transcript.file}:\n${names}`);
  }
  return found;
}

/**
 * The recorded socket whose label starts with `label`; throws listing the labels there are.
 *
 * @example
 * socket(loadTranscript('ws_success_cached_partial'), 'submitting client').messages;
 */
export function socket(transcript: Transcript, label: string): RecordedSocket {
  const found = transcript.ws?.find((s) => s.label.startsWith(label));
  if (!found) {
    const labels = (transcript.ws ?? []).map((s) => `  ${s.label}`).join('\n');
    throw new Error(
      `no socket labelled ${JSON.stringify(label)} in ${transcript.file}:\n${labels}`,
    );
  }
  return found;
}

/**
 * Loads an API-format workflow from workflows/ (a fresh copy each call, safe to modify).
 *
 * @example
 * const prompt = loadWorkflow('empty_save');
 */
export function loadWorkflow(name: string): ApiPrompt {
  const full = path.join(transcriptDir, 'workflows', `${name.replace(/\.json$/, '')}.json`);
  try {
    return parseJsonOrdered(readFileSync(full, 'utf8')) as unknown as ApiPrompt;
  } catch (err) {
    throw new Error(`cannot read workflow ${full}: ${(err as Error).message}`);
  }
}

/**
 * The recorded messages of a socket between two markers: after the first marker whose note
 * includes `from` (from the start when omitted) and before the first later marker whose note
 * includes `to` (to the end when omitted). Markers themselves are left out of the result.
 *
 * @example
 * const second = between(socket(t, 'submitting'), 'POST slow job');
 */
export function between(recorded: RecordedSocket, from?: string, to?: string): RecordedWsMessage[] {
  const all = recorded.messages;
  let start = 0;
  if (from !== undefined) {
    const i = all.findIndex((m) => m.kind === 'marker' && m.note.includes(from));
    if (i < 0) throw new Error(`no marker containing ${JSON.stringify(from)} in ${recorded.label}`);
    start = i + 1;
  }
  let end = all.length;
  if (to !== undefined) {
    const i = all.findIndex((m, j) => j >= start && m.kind === 'marker' && m.note.includes(to));
    if (i < 0) throw new Error(`no marker containing ${JSON.stringify(to)} in ${recorded.label}`);
    end = i;
  }
  return all.slice(start, end).filter((m) => m.kind !== 'marker');
}

/** Decodes a recorded binary's inline bytes; throws when the recording only described them. */
export function recordedBytes(binary: RecordedBinary): Buffer {
  if (binary.base64 === undefined) {
    throw new Error(`recorded binary (${binary.length} bytes) was not stored inline`);
  }
  return Buffer.from(binary.base64, 'base64');
}
