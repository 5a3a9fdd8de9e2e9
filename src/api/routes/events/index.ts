/**
 * `/api/v1/events`: the gateway's events as Server-Sent Events, and `/api/v1/events/ws` as
 * WebSocket frames (`{ id, type, time, data }`). Filter with `?types=instance.health,alert.*`.
 */
import type { ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type WebSocket from 'ws';
import { ANONYMOUS_ADMIN } from '../../auth/principal.js';
import { ApiError, validationFailed } from '../../errors.js';
import type { EventFilter, EventSink } from '../../events/event-hub.js';
import { errorResponses } from '../../schemas.js';

const EventsQuery = Type.Object({
  types: Type.Optional(
    Type.String({
      maxLength: 2000,
      description: 'comma-separated event types or prefixes like instance.* (default: all)',
    }),
  ),
  access_token: Type.Optional(
    Type.String({ description: 'the API key, for clients that cannot send headers' }),
  ),
});

/** Bytes a connection may have waiting to be sent before it is dropped (default 1 MiB). */
const DEFAULT_MAX_BUFFERED = 1024 * 1024;

function parseFilter(types: string | undefined, known: (f: EventFilter) => string[]): EventFilter {
  const list = (types ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const filter = { types: [...new Set(list)] };
  const unknown = known(filter);
  if (unknown.length > 0) {
    throw validationFailed([
      {
        path: 'query.types',
        message: `unknown event type(s): ${unknown.join(', ')}`,
      },
    ]);
  }
  return filter;
}

function sseSink(raw: ServerResponse, maxBuffered: number): EventSink {
  const sink: EventSink = {
    send(event, json) {
      if (raw.writableLength > maxBuffered) {
        sink.close('slow_consumer');
        return;
      }
      raw.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${json}\n\n`);
    },
    heartbeat() {
      if (raw.writableLength > maxBuffered) sink.close('slow_consumer');
      else raw.write(': heartbeat\n\n');
    },
    close(reason) {
      if (raw.destroyed) return;
      // A slow consumer's buffer is thrown away at once; at shutdown the stream ends cleanly.
      if (reason === 'slow_consumer') raw.destroy();
      else raw.end();
    },
  };
  return sink;
}

function wsSink(socket: WebSocket, maxBuffered: number): EventSink {
  const sink: EventSink = {
    send(_event, json) {
      if (socket.bufferedAmount > maxBuffered) {
        sink.close('slow_consumer');
        return;
      }
      socket.send(json);
    },
    heartbeat() {
      if (socket.bufferedAmount > maxBuffered) sink.close('slow_consumer');
      else socket.ping();
    },
    close(reason) {
      if (reason === 'slow_consumer') {
        socket.terminate();
        return;
      }
      socket.close(1001, 'gateway shutting down');
    },
  };
  return sink;
}

/**
 * Registers the event stream routes.
 *
 * @example
 * await app.register(eventsRoutes, { maxBufferedBytes: 1 << 20 });
 */
export async function eventsRoutes(
  fastify: FastifyInstance,
  options: { maxBufferedBytes?: number },
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const hub = app.api.events;
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  const known = (f: EventFilter) => hub.unknownTypes(f);
  const config = { access: 'user', acceptsQueryToken: true, rateLimit: false } as const;

  const admit = (request: FastifyRequest): EventFilter => {
    const filter = parseFilter((request.query as { types?: string }).types, known);
    if (!hub.hasRoom())
      throw new ApiError('service_unavailable', 'too many event streams are open');
    return filter;
  };

  app.get(
    '/api/v1/events',
    {
      config,
      schema: {
        tags: ['events'],
        security: [{ bearerAuth: [] }],
        summary:
          'Server-Sent Events: instance events (added, changed, removed, status, active, health, capabilities, alerts)',
        description:
          'Each event: `id: <n>`, `event: <type>`, `data: {"id","type","time","data"}`. A comment line is sent every 15 s. Filter with `types`. The same events as WebSocket frames (one JSON object each): `GET /api/v1/events/ws` with the same query.',
        produces: ['text/event-stream'],
        querystring: EventsQuery,
        response: { ...errorResponses(400, 503) },
      },
    },
    async (request, reply) => {
      const filter = admit(request);
      const principal = request.principal ?? ANONYMOUS_ADMIN;
      reply.hijack();
      const raw = reply.raw;
      const headers: Record<string, string | number | string[]> = {};
      for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
      raw.writeHead(200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(`retry: 3000\n: connected, last event id ${hub.lastId}\n\n`);
      const off = hub.subscribe(principal, filter, sseSink(raw, maxBuffered));
      request.log.debug({ types: filter.types, key_id: principal.key_id }, 'event stream opened');
      raw.once('close', () => {
        off();
        request.log.debug({ key_id: principal.key_id }, 'event stream closed');
      });
    },
  );

  app.get(
    '/api/v1/events/ws',
    {
      websocket: true,
      config,
      schema: { querystring: EventsQuery },
      preHandler: async (request) => {
        admit(request);
      },
    },
    (socket, request) => {
      const filter = parseFilter((request.query as { types?: string }).types, known);
      const principal = request.principal ?? ANONYMOUS_ADMIN;
      const off = hub.subscribe(principal, filter, wsSink(socket, maxBuffered));
      socket.on('close', off);
      socket.on('error', off);
      // Clients only listen; anything they send is ignored.
      socket.on('message', () => undefined);
    },
  );
}
