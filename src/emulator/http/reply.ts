/**
 * Responses shaped like aiohttp's: JSON with "application/json; charset=utf-8", bare
 * `web.Response(status=N)` (empty body, application/octet-stream), aiohttp's text errors, and the
 * 500 page of an uncaught handler exception (which also closes the connection).
 */
import type { ServerResponse } from 'node:http';

/** What aiohttp 3.8 (Python 3.11) sends as Server, as in the recordings. */
export const SERVER_HEADER = 'Python/3.11 aiohttp/3.8.4';

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const SERVER_ERROR_BODY = '500 Internal Server Error\n\nServer got itself in trouble';

const REASONS: Record<number, string> = {
  200: 'OK',
  206: 'Partial Content',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Request Entity Too Large',
  416: 'Requested Range Not Satisfiable',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The reason phrase aiohttp uses for a status. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

/**
 * @example
 * sendJson(res, 200, '{"exec_info": {"queue_remaining": 0}}');
 */
export function sendJson(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, {
    'Content-Type': JSON_TYPE,
    'Content-Length': Buffer.byteLength(json),
    Server: SERVER_HEADER,
  });
  res.end(json);
}

/** `web.Response(status=N)`: no body, application/octet-stream. */
export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, {
    'Content-Length': 0,
    'Content-Type': 'application/octet-stream',
    Server: SERVER_HEADER,
  });
  res.end();
}

/** A text body (aiohttp's `web.Response(text=...)`), plus extra headers. */
export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
  contentType = TEXT_TYPE,
): void {
  const body = Buffer.from(text);
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': body.byteLength,
    Server: SERVER_HEADER,
    ...headers,
  });
  res.end(body);
}

/** An aiohttp HTTPException body: "404: Not Found". */
export function sendHttpError(
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
): void {
  sendText(res, status, `${status}: ${reasonPhrase(status)}`, headers);
}

/** An uncaught exception in a ComfyUI handler: aiohttp's 500 page, connection closed. */
export function sendServerError(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendText(res, 500, SERVER_ERROR_BODY, { Connection: 'close' });
}
