/**
 * A real gateway listening on 127.0.0.1 (random port) over real emulators, for the SDK's tests:
 * the API's job harness (store, registry, monitor, job layer) plus `listen`.
 */
import type { Socket } from 'node:net';
import { type JobHarness, jobHarness } from '../../api/routes/jobs/testing.js';

export interface LiveGateway extends JobHarness {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Destroys every open connection to the gateway (streams included). */
  dropConnections(): void;
}

/**
 * Starts a gateway with `emulators` emulated instances (instant nodes; `setSpeed` to slow them).
 *
 * @example
 * const gw = await liveGateway();
 * const client = new ClusterClient({ url: gw.url });
 * await gw.close();
 */
export async function liveGateway(
  options: Parameters<typeof jobHarness>[0] = {},
): Promise<LiveGateway> {
  const h = await jobHarness(options);
  try {
    const sockets = new Set<Socket>();
    h.app.server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return {
      ...h,
      url: `http://127.0.0.1:${address.port}`,
      dropConnections: () => {
        for (const s of sockets) s.destroy();
      },
    };
  } catch (err) {
    await h.close();
    throw err;
  }
}
