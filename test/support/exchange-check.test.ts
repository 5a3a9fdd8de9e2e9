import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExchange } from './exchange-check.js';
import { httpRequest, recordedCall } from './http.js';
import { exchange, loadTranscript, recordedBytes } from './transcripts.js';

const view = exchange(loadTranscript('http_view'), 'view uploaded input PNG');
const missing = exchange(loadTranscript('http_basic_get'), 'GET /models/no_such_folder');
const queue = exchange(loadTranscript('http_basic_get'), 'GET /queue');

/** What the fake server answers next: status, headers, body. */
let answer: { status: number; headers: Record<string, string>; body: Buffer | string } = {
  status: 200,
  headers: {},
  body: '',
};
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function check(recorded: typeof view, options = {}) {
  return checkExchange(await httpRequest(url, recordedCall(recorded.request)), recorded, options);
}

describe('checkExchange', () => {
  it('accepts an answer like the recorded one', async () => {
    answer = {
      status: 200,
      headers: {
        'Content-Type': 'image/png',
        'Content-Disposition': 'filename="gw_upload.png"',
        Etag: '"x"',
        'Last-Modified': 'Tue, 24 Nov 2026 23:58:47 GMT',
        'Accept-Ranges': 'bytes',
      },
      body: recordedBytes(view.response.body_binary!),
    };
    expect(await check(view, { binary: 'bytes' })).toEqual([]);
  });

  it('reports a wrong status, type, disposition, missing ETag and other image', async () => {
    answer = {
      status: 201,
      headers: { 'Content-Type': 'image/webp', 'Content-Disposition': 'filename="x.png"' },
      body: Buffer.from('RIFF\0\0\0\0WEBPVP8 '),
    };
    expect(await check(view)).toEqual([
      'status: expected 200 got 201 (body: RIFF\u0000\u0000\u0000\u0000WEBPVP8 )',
      "Content-Type: expected 'image/png' got 'image/webp'",
      'Content-Disposition: expected \'filename="gw_upload.png"\' got \'filename="x.png"\'',
      'etag header: expected present, got none',
      'last-modified header: expected present, got none',
      'accept-ranges header: expected present, got none',
      'image format: expected png got webp',
      'image width: expected 48 got none',
      'image height: expected 32 got none',
      'image pngColorType: expected 2 got none',
    ]);
  });

  it('wants an empty octet-stream body where the recording has one', async () => {
    answer = { status: 404, headers: { 'Content-Type': 'text/plain' }, body: 'Not Found' };
    expect(await check(missing)).toEqual([
      "Content-Type: expected 'application/octet-stream' got 'text/plain'",
      'body: expected empty got 9 bytes: Not Found',
      'body: expected "" got "Not Found"',
    ]);
  });

  it('compares JSON bodies by shape, key order included', async () => {
    answer = {
      status: 200,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: '{"queue_pending": [], "queue_running": []}',
    };
    expect(await check(queue)).toEqual([
      'body $: key order: expected [queue_running, queue_pending] got [queue_pending, queue_running]',
    ]);
  });
});
