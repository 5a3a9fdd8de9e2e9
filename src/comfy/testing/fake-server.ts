/**
 * Small real servers on 127.0.0.1 for the client's tests: an HTTP(+WS) server whose routes each
 * test scripts, a server that accepts TCP and never answers, and a port nobody listens on.
 * Not a ComfyUI emulator (see src/emulator): just enough to provoke each failure mode.
 */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';

export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Which TCP connection carried it (1-based, in accept order). */
  connection: number;
}

export type Handler = (
  req: RecordedRequest,
  res: ServerResponse,
  raw: IncomingMessage,
) => void | Promise<void>;

export interface WsConnection {
  socket: WebSocket;
  clientId: string | null;
  headers: http.IncomingHttpHeaders;
  /** Text messages received from the client, parsed. */
  received: unknown[];
  openedAt: number;
  closedAt: number | undefined;
}

export interface FakeServer {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  connectionsAccepted(): number;
  /** Highest number of TCP connections open at once. */
  maxConcurrentConnections(): number;
  /** Routes: "GET /queue" → handler. Unmatched requests get `fallback` (default 404 text). */
  route(key: string, handler: Handler): void;
  fallback(handler: Handler): void;
  readonly ws: WsConnection[];
  onWsConnection(handler: (conn: WsConnection) => void): void;
  /** Refuse WS upgrades with this HTTP status (undefined: accept). */
  refuseUpgrades(status: number | undefined): void;
  /** Terminate every open WS connection. */
  dropWebSockets(): void;
  /** Close all open TCP connections (keep-alive ones included). */
  dropConnections(): void;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
  });
  res.end(body);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  type = 'text/plain; charset=utf-8',
): void {
  const body = Buffer.from(text);
  res.writeHead(status, { 'content-type': type, 'content-length': body.length });
  res.end(body);
}

/** ComfyUI's bare answer to POST /queue, /interrupt, /history, /free. */
export function sendEmpty(res: ServerResponse, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': 0 });
  res.end();
}

export interface FakeServerOptions {
  /** Answer WS pings (default true). False = a server that went silent. */
  autoPong?: boolean;
  /** Serve https/wss with this certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/**
 * @example
 * const server = await startFakeServer();
 * server.route('GET /queue', (_req, res) => sendJson(res, 200, { queue_running: [], queue_pending: [] }));
 * await server.close();
 */
export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const routes = new Map<string, Handler>();
  let fallback: Handler = (_req, res) => sendText(res, 404, '404: Not Found');
  const requests: RecordedRequest[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let maxConcurrent = 0;
  const wsConnections: WsConnection[] = [];
  const wsHandlers: Array<(conn: WsConnection) => void> = [];
  let refuseStatus: number | undefined;
  const connectionIds = new WeakMap<net.Socket, number>();

  const onRequest = (raw: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const parsed = new URL(raw.url ?? '/', 'http://127.0.0.1');
      const req: RecordedRequest = {
        method: raw.method ?? 'GET',
        url: raw.url ?? '/',
        path: parsed.pathname,
        query: parsed.searchParams,
        headers: raw.headers,
        body: Buffer.concat(chunks),
        connection: connectionIds.get(raw.socket) ?? 0,
      };
      requests.push(req);
      const handler = routes.get(`${req.method} ${req.path}`) ?? fallback;
      Promise.resolve(handler(req, res, raw)).catch((err: unknown) => {
        if (!res.headersSent) sendText(res, 500, String(err));
      });
    });
  };
  const server = options.tls
    ? https.createServer(options.tls, onRequest)
    : http.createServer(onRequest);
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    accepted++;
    connectionIds.set(socket, accepted);
    sockets.add(socket);
    maxConcurrent = Math.max(maxConcurrent, sockets.size);
    socket.on('close', () => sockets.delete(socket));
  });

  const wss = new WebSocketServer({ noServer: true, autoPong: options.autoPong ?? true });
  server.on('upgrade', (raw: IncomingMessage, socket: Duplex, head: Buffer) => {
    const parsed = new URL(raw.url ?? '/', 'http://127.0.0.1');
    if (refuseStatus !== undefined || !parsed.pathname.endsWith('/ws')) {
      const status = refuseStatus ?? 404;
      socket.end(`HTTP/1.1 ${status} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(raw, socket, head, (ws) => {
      const conn: WsConnection = {
        socket: ws,
        clientId: parsed.searchParams.get('clientId'),
        headers: raw.headers,
        received: [],
        openedAt: Date.now(),
        closedAt: undefined,
      };
      wsConnections.push(conn);
      ws.on('message', (data, isBinary) => {
        if (!isBinary) {
          try {
            conn.received.push(JSON.parse(data.toString()));
          } catch {
            conn.received.push(data.toString());
          }
        }
      });
      ws.on('close', () => {
        conn.closedAt = Date.now();
      });
      ws.on('error', () => undefined);
      for (const handler of wsHandlers) handler(conn);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    connectionsAccepted: () => accepted,
    maxConcurrentConnections: () => maxConcurrent,
    route: (key, handler) => {
      routes.set(key, handler);
    },
    fallback: (handler) => {
      fallback = handler;
    },
    ws: wsConnections,
    onWsConnection: (handler) => {
      wsHandlers.push(handler);
    },
    refuseUpgrades: (status) => {
      refuseStatus = status;
    },
    dropWebSockets: () => {
      for (const conn of wsConnections) if (conn.closedAt === undefined) conn.socket.terminate();
    },
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const conn of wsConnections) conn.socket.terminate();
      wss.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server that accepts connections and never says a word (a hung instance). */
export async function startSilentServer(): Promise<{
  url: string;
  accepted(): number;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port with nothing listening (connection refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves when `predicate` holds, checking on every tick of `events` or each 5 ms, up to `limitMs`. */
export async function until(
  predicate: () => boolean,
  limitMs = 5_000,
  what = 'condition',
): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
