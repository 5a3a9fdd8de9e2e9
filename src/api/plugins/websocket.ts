import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';

/**
 * WebSocket routes (`{ websocket: true }`). Incoming messages are small control frames, so their
 * size is capped. Must be registered before the routes.
 *
 * @example
 * await registerWebsocket(app);
 */
export async function registerWebsocket(app: FastifyInstance): Promise<void> {
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
}
