/** Port availability against real sockets on 127.0.0.1. */
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { InstanceView } from '../../../fleet/index.js';
import { isLocalAddress, portAvailability } from './port-availability.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

function listen(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      servers.push(server);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

const view = (id: string, host: string, port: number) =>
  ({ id, name: id, host, port }) as unknown as InstanceView;

describe('isLocalAddress', () => {
  it('accepts loopback, wildcard and interface addresses only', () => {
    for (const h of ['127.0.0.1', '127.3.2.1', '::1', '[::1]', '0.0.0.0', '::', 'LOCALHOST']) {
      expect(isLocalAddress(h), h).toBe(true);
    }
    const own = Object.values(networkInterfaces()).flat()[0]?.address;
    if (own) expect(isLocalAddress(own)).toBe(true);
    for (const h of ['192.0.2.10', 'example.com', '10.255.254.253', '']) {
      expect(isLocalAddress(h), h).toBe(false);
    }
  });
});

describe('portAvailability', () => {
  it('names the holder and suggests the next port neither held nor configured locally', async () => {
    // Find a run of three free ports: P held by us, P+1 configured, P+2 the suggestion.
    let held = 0;
    for (let i = 0; i < 20 && held === 0; i++) {
      const p = await listen();
      if (p + 2 > 65_535) continue;
      const probe = await portAvailability({ host: '127.0.0.1', port: p + 1, instances: [] });
      const next = await portAvailability({ host: '127.0.0.1', port: p + 2, instances: [] });
      if (probe.available && next.available) held = p;
    }
    expect(held).toBeGreaterThan(0);
    const instances = [
      view('a', 'localhost', held + 1),
      view('remote', '192.0.2.10', held + 2), // another machine's port is no conflict
    ];
    const answer = await portAvailability({ host: '127.0.0.1', port: held, instances });
    expect(answer).toMatchObject({
      port: held,
      available: false,
      holder: { pid: process.pid },
      suggested: held + 2,
    });
    expect(answer.reason).toContain(`port ${held} on 127.0.0.1 is in use by pid ${process.pid}`);

    const configured = await portAvailability({ host: '127.0.0.1', port: held + 1, instances });
    expect(configured).toMatchObject({ available: false, used_by: { id: 'a' } });
    expect(configured.suggested).toBe(held + 2);
    const editing = await portAvailability({
      host: '127.0.0.1',
      port: held + 1,
      instances,
      excludeId: 'a',
    });
    expect(editing).toMatchObject({ available: true, reason: null, suggested: held + 1 });
  });

  it('has no suggestion above 65535', async () => {
    const top = await portAvailability({
      host: '127.0.0.1',
      port: 65_535,
      instances: [view('a', '127.0.0.1', 65_535)],
    });
    expect(top).toMatchObject({ available: false, suggested: null });
  });
});
