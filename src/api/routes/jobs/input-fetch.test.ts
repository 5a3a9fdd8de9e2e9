import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../errors.js';
import { fetchUrlInput, hostAllowed, isPrivateAddress } from './input-fetch.js';

describe('URL inputs', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/a') res.writeHead(200).end('hello');
      else if (req.url === '/big') res.writeHead(200).end(Buffer.alloc(2048));
      else if (req.url === '/redirect') res.writeHead(302, { location: '/a' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const policy = (allowHosts: string[]) => ({ allowHosts, maxBytes: 1024 });
  const refused = async (p: Promise<unknown>, code: string) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(code);
    return err as ApiError;
  };

  it('knows private addresses', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.1.1',
      '172.20.0.1',
      '169.254.1.1',
      '::1',
      'fd00::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isPrivateAddress(a)).toBe(true);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700::1111'])
      expect(isPrivateAddress(a)).toBe(false);
  });

  it('matches hosts and host:port', () => {
    expect(hostAllowed(new URL('http://127.0.0.1:9/x'), ['127.0.0.1'])).toBe(true);
    expect(hostAllowed(new URL('http://127.0.0.1:9/x'), ['127.0.0.1:9'])).toBe(true);
    expect(hostAllowed(new URL('http://127.0.0.1:9/x'), ['127.0.0.1:10'])).toBe(false);
    expect(hostAllowed(new URL('https://example.com/x'), ['example.com:443'])).toBe(true);
  });

  it('fetches only from allowlisted hosts; a name resolving to a private address needs that address allowlisted', async () => {
    const bytes = await fetchUrlInput(`http://127.0.0.1:${port}/a`, policy(['127.0.0.1']), 'p');
    expect(Buffer.from(bytes).toString()).toBe('hello');
    await refused(fetchUrlInput(`http://127.0.0.1:${port}/a`, policy([]), 'p'), 'bad_request');
    await refused(
      fetchUrlInput(`http://127.0.0.1:${port}/a`, policy(['10.0.0.1']), 'p'),
      'bad_request',
    );
    const e = await refused(
      fetchUrlInput(`http://localhost:${port}/a`, policy(['localhost']), 'p'),
      'bad_request',
    );
    expect(e.message).toContain('private address');
    await refused(
      fetchUrlInput(`http://127.0.0.1:${port}/redirect`, policy(['127.0.0.1']), 'p'),
      'bad_request',
    );
    await refused(
      fetchUrlInput(`http://127.0.0.1:${port}/missing`, policy(['127.0.0.1']), 'p'),
      'bad_request',
    );
    await refused(
      fetchUrlInput(`http://127.0.0.1:${port}/big`, policy(['127.0.0.1']), 'p'),
      'payload_too_large',
    );
    await refused(
      fetchUrlInput('ftp://127.0.0.1/a', policy(['127.0.0.1']), 'p'),
      'validation_failed',
    );
    await refused(fetchUrlInput('not a url', policy(['127.0.0.1']), 'p'), 'validation_failed');
  });
});
