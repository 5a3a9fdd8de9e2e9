/**
 * Test helpers for the emulator's own tests: raw HTTP requests, a recording WebSocket client, the
 * recorded transcripts. Not used by the emulator itself (testing/ stays out of the build).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** One recorded transcript from shared/comfyui-protocol (see its README). */
export function loadRecording(name: string): Recording {
  const file = path.resolve(repoRoot, '../shared/comfyui-protocol', name);
  return JSON.parse(readFileSync(file, 'utf8')) as Recording;
}

export interface RecordedExchange {
  name: string;
  request: {
    method: string;
    path: string;
    query?: string | null;
    headers?: Record<string, string>;
  };
  response: {
    status: number;
    headers: Record<string, string>;
    body_json?: unknown;
    body_text?: string;
  };
}

export interface RecordedMessage {
  dir?: string;
  kind: 'text' | 'binary' | 'marker';
  json?: { type: string; data: Record<string, unknown> };
  event_type_u32be?: number;
  note?: string;
}

export interface Recording {
  exchanges: RecordedExchange[];
  ws?: { label: string; url: string; messages: RecordedMessage[] }[];
  [key: string]: unknown;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** Header names in the order they were sent. */
  headerOrder: string[];
  body: Buffer;
  text: string;
  json(): unknown;
}

/** A raw HTTP request (node:http, so Host and Origin can be set freely). */
export function http(
  baseUrl: string,
  method: string,
  pathAndQuery: string,
  options: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: pathAndQuery,
        headers: {
          ...(options.body === undefined
            ? {}
            : { 'Content-Length': Buffer.byteLength(options.body) }),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const headers: Record<string, string> = {};
          const headerOrder: string[] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            const name = res.rawHeaders[i] as string;
            headers[name.toLowerCase()] = res.rawHeaders[i + 1] as string;
            headerOrder.push(name);
          }
          const text = body.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers,
            headerOrder,
            body,
            text,
            json: () => JSON.parse(text),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** POST a JSON body. */
export function postJson(
  baseUrl: string,
  pathAndQuery: string,
  body: unknown,
): Promise<RawResponse> {
  return http(baseUrl, 'POST', pathAndQuery, {
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  });
}

export type WsMessage =
  | { kind: 'text'; type: string; data: Record<string, unknown>; raw: string }
  | { kind: 'binary'; data: Buffer };

/** A WebSocket client that records every message. */
export class WsProbe {
  readonly messages: WsMessage[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) this.messages.push({ kind: 'binary', data });
      else {
        const raw = data.toString();
        const parsed = JSON.parse(raw) as { type: string; data: Record<string, unknown> };
        this.messages.push({ kind: 'text', type: parsed.type, data: parsed.data, raw });
      }
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  /** Opens /ws (clientId optional); resolves once the first status message arrived. */
  static async open(
    baseUrl: string,
    options: { clientId?: string; path?: string; featureFlags?: Record<string, unknown> } = {},
  ): Promise<WsProbe> {
    const query =
      options.clientId === undefined ? '' : `?clientId=${encodeURIComponent(options.clientId)}`;
    const socket = new WebSocket(
      `${baseUrl.replace(/^http/, 'ws')}${options.path ?? '/ws'}${query}`,
    );
    const probe = new WsProbe(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    if (options.featureFlags !== undefined) {
      socket.send(JSON.stringify({ type: 'feature_flags', data: options.featureFlags }));
    }
    await probe.waitFor((m) => m.kind === 'text' && m.type === 'status');
    if (options.featureFlags !== undefined) {
      await probe.waitFor((m) => m.kind === 'text' && m.type === 'feature_flags');
    }
    return probe;
  }

  /** Waits until a message matching `match` has arrived (searching from `from`). */
  async waitFor(match: (m: WsMessage) => boolean, timeoutMs = 5000, from = 0): Promise<WsMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${this.types().join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for `executing {node: null, prompt_id}` of a prompt. */
  waitDone(promptId: string, timeoutMs = 5000): Promise<WsMessage> {
    return this.waitFor(
      (m) =>
        m.kind === 'text' &&
        m.type === 'executing' &&
        m.data.node === null &&
        m.data.prompt_id === promptId,
      timeoutMs,
    );
  }

  /** Message types in arrival order ("binary:<type>" for binary frames). */
  types(from = 0): string[] {
    return this.messages
      .slice(from)
      .map((m) => (m.kind === 'text' ? m.type : `binary:${m.data.readUInt32BE(0)}`));
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/** Message types of one recorded socket between two markers (or the whole socket). */
export function recordedTypes(messages: RecordedMessage[]): string[] {
  return messages
    .filter((m) => m.kind !== 'marker' && m.dir !== 'client->server')
    .map((m) => (m.kind === 'text' ? (m.json?.type ?? '?') : `binary:${m.event_type_u32be}`));
}

/** Splits a recorded socket's messages at its markers. */
export function segments(messages: RecordedMessage[]): RecordedMessage[][] {
  const out: RecordedMessage[][] = [[]];
  for (const m of messages) {
    if (m.kind === 'marker') out.push([]);
    else out[out.length - 1]?.push(m);
  }
  return out;
}

/** The recorded API-format workflows (colours vary to defeat the cache). */
export const WORKFLOWS = {
  emptySave: (color = 16711680, prefix = 'gw_empty') => ({
    '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: prefix } },
  }),
  loadScaleInvertSave: (image: string, scale = 2.0) => ({
    '1': { class_type: 'LoadImage', inputs: { image } },
    '2': {
      class_type: 'ImageScaleBy',
      inputs: { image: ['1', 0], upscale_method: 'bilinear', scale_by: scale },
    },
    '3': { class_type: 'ImageInvert', inputs: { image: ['2', 0] } },
    '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'gw_lsi' } },
  }),
  runtimeError: (color = 0) => ({
    '1': { class_type: 'EmptyImage', inputs: { width: 32, height: 32, batch_size: 1, color } },
    '2': { class_type: 'ImageToMask', inputs: { image: ['1', 0], channel: 'alpha' } },
    '3': { class_type: 'MaskToImage', inputs: { mask: ['2', 0] } },
    '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'gw_err' } },
  }),
  saveImageWebsocket: () => ({
    '1': { class_type: 'EmptyImage', inputs: { width: 16, height: 8, batch_size: 2, color: 255 } },
    '2': { class_type: 'SaveImageWebsocket', inputs: { images: ['1', 0] } },
  }),
  /** EmptyImage → three ImageInvert → SaveImage; slow with nodeDurations on ImageInvert. */
  chain: (color = 0) => ({
    '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color } },
    '10': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
    '11': { class_type: 'ImageInvert', inputs: { image: ['10', 0] } },
    '12': { class_type: 'ImageInvert', inputs: { image: ['11', 0] } },
    '99': { class_type: 'SaveImage', inputs: { images: ['12', 0], filename_prefix: 'gw_chain' } },
  }),
};

/** A small valid PNG (48x32 RGB) from the recordings. */
export const UPLOAD_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAADAAAAAgCAIAAADbtmxLAAAAOElEQVR4nO3OMREAMAgEMGZE4F9KZdUFz5C7CEj1m1MqPhASEhJKD4SEhITSAyEhIaH0QEhIaNkHluSgTIxLwxAAAAAASUVORK5CYII=',
  'base64',
);
/** Another valid PNG (16x16 RGB). */
export const OTHER_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR4nGM4wSVHEmIY1TCqYfhqAABCoPABlpB2bAAAAABJRU5ErkJggg==',
  'base64',
);

/** Builds a multipart/form-data body. */
export function multipart(
  fields: {
    name: string;
    value?: string;
    filename?: string;
    data?: Buffer;
    contentType?: string;
  }[],
): { body: Buffer; contentType: string } {
  const boundary = '----emulatorTestBoundary7MA4YWxk';
  const chunks: Buffer[] = [];
  for (const f of fields) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"`;
    if (f.filename !== undefined) head += `; filename="${f.filename}"`;
    head += '\r\n';
    if (f.contentType !== undefined) head += `Content-Type: ${f.contentType}\r\n`;
    chunks.push(
      Buffer.from(`${head}\r\n`),
      f.data ?? Buffer.from(f.value ?? ''),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Uploads a file to /upload/image with extra form fields. */
export function upload(
  baseUrl: string,
  filename: string,
  data: Buffer,
  fields: Record<string, string> = {},
  route = '/upload/image',
): Promise<RawResponse> {
  const form = multipart([
    { name: 'image', filename, data, contentType: 'image/png' },
    ...Object.entries(fields).map(([name, value]) => ({ name, value })),
  ]);
  return http(baseUrl, 'POST', route, {
    body: form.body,
    headers: { 'Content-Type': form.contentType },
  });
}
