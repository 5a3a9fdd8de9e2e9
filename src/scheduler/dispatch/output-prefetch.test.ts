import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComfyClient } from '../../comfy/index.js';
import { OutputPrefetch } from './output-prefetch.js';

// A /view server: serves `files` by name, counts requests per name; unknown names are 404.
const files = new Map<string, Buffer>();
const asked = new Map<string, number>();
let server: Server;
let client: ComfyClient;

async function bodyOf(view: { body: AsyncIterable<unknown> }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of view.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').searchParams.get('filename') ?? '';
    asked.set(name, (asked.get(name) ?? 0) + 1);
    const data = files.get(name);
    if (!data) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': data.length }).end(data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  client = new ComfyClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
});

afterAll(async () => {
  client.close();
  await new Promise((r) => server.close(r));
});

const image = (filename: string) => ({ images: [{ filename, subfolder: '', type: 'output' }] });

describe('OutputPrefetch', () => {
  it('hands over an announced file without asking the instance again', async () => {
    files.set('a.png', Buffer.from('png-a'));
    const prefetch = new OutputPrefetch(new AbortController().signal);
    prefetch.announce(client, '9', image('a.png'));
    const view = await prefetch
      .source(client)
      .view({ filename: 'a.png', subfolder: '', type: 'output' });
    expect(view.contentLength).toBe(5);
    expect((await bodyOf(view)).toString()).toBe('png-a');
    expect(asked.get('a.png')).toBe(1);
    // Used once: a second view asks the instance.
    const again = await prefetch
      .source(client)
      .view({ filename: 'a.png', subfolder: '', type: 'output' });
    expect((await bodyOf(again)).toString()).toBe('png-a');
    expect(asked.get('a.png')).toBe(2);
  });

  it('asks again after a failed early download, and for files never announced; temp files are not fetched', async () => {
    const prefetch = new OutputPrefetch(new AbortController().signal);
    prefetch.announce(client, '9', image('late.png'));
    prefetch.announce(client, '8', {
      images: [{ filename: 'tmp.png', subfolder: '', type: 'temp' }],
    });
    const source = prefetch.source(client);
    // Not there yet when announced: the early download is a 404; the file appears later.
    for (let i = 0; i < 200 && !asked.has('late.png'); i++)
      await new Promise((r) => setTimeout(r, 5));
    files.set('late.png', Buffer.from('late'));
    const view = await source.view({ filename: 'late.png', subfolder: '', type: 'output' });
    expect((await bodyOf(view)).toString()).toBe('late');
    expect(asked.get('late.png')).toBe(2);
    expect(asked.has('tmp.png')).toBe(false);
    files.set('other.png', Buffer.from('o'));
    const other = await source.view({ filename: 'other.png', subfolder: '', type: 'output' });
    expect((await bodyOf(other)).toString()).toBe('o');
  });

  it('drops what it fetched once disposed (the attempt ended)', async () => {
    files.set('d.png', Buffer.from('d'));
    const prefetch = new OutputPrefetch(new AbortController().signal);
    prefetch.announce(client, '9', image('d.png'));
    for (let i = 0; i < 200 && !asked.has('d.png'); i++) await new Promise((r) => setTimeout(r, 5));
    prefetch.dispose();
    prefetch.announce(client, '9', image('d2.png'));
    const view = await prefetch
      .source(client)
      .view({ filename: 'd.png', subfolder: '', type: 'output' });
    expect((await bodyOf(view)).toString()).toBe('d');
    expect(asked.get('d.png')).toBe(2);
    expect(asked.has('d2.png')).toBe(false);
  });

  it('does not keep a large file: collection downloads it itself', async () => {
    files.set('big.png', Buffer.alloc(2 * 1024 * 1024, 7));
    const prefetch = new OutputPrefetch(new AbortController().signal);
    prefetch.announce(client, '9', image('big.png'));
    const view = await prefetch
      .source(client)
      .view({ filename: 'big.png', subfolder: '', type: 'output' });
    expect((await bodyOf(view)).length).toBe(2 * 1024 * 1024);
    expect(asked.get('big.png')).toBe(2);
  });
});
