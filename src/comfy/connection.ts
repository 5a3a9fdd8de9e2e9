/**
 * Where one ComfyUI instance lives and how to authenticate to it: parses the base URL (scheme,
 * host, port, reverse-proxy path prefix, optional user:password) and the auth options once, and
 * keeps the secrets apart from anything that gets printed.
 */
import type { SecureContextOptions } from 'node:tls';
import { ComfyError } from './errors.js';

/**
 * Credentials for an instance behind an authenticating reverse proxy (ComfyUI itself has none).
 * `basic` takes "user:password" as one string.
 */
export type ComfyAuth =
  | { bearer: string }
  | { basic: string }
  | { username: string; password: string };

/** TLS settings for https/wss instances (self-signed certificates, private CAs). */
export interface ComfyTlsOptions {
  ca?: SecureContextOptions['ca'];
  cert?: SecureContextOptions['cert'];
  key?: SecureContextOptions['key'];
  /** Default true. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** How a client reaches one instance. Only `baseUrl` is required. */
export interface ComfyConnectionOptions {
  /**
   * `http(s)://host:port[/prefix]` (ws/wss accepted too). A path is a reverse-proxy prefix that
   * is put before every route. `user:password@` in the URL becomes basic auth and is removed.
   */
  baseUrl: string | URL;
  auth?: ComfyAuth;
  /** Extra headers for every request and the WebSocket handshake. Values are treated as secrets. */
  headers?: Record<string, string>;
  /** Send core routes as `/api/<route>` and open `/api/ws` (ComfyUI serves both). Default false. */
  apiPrefix?: boolean;
  tls?: ComfyTlsOptions;
}

/** The parsed form of ComfyConnectionOptions. Internal to this module. */
export interface ResolvedConnection {
  secure: boolean;
  /** Host name for sockets (IPv6 without brackets). */
  hostname: string;
  port: number;
  /** '' or '/prefix' (no trailing slash). */
  pathPrefix: string;
  apiPrefix: boolean;
  /** scheme://host:port/prefix without credentials: safe to print. */
  displayUrl: string;
  /** scheme://host:port without credentials. */
  displayOrigin: string;
  authKind: 'none' | 'bearer' | 'basic';
  /** Authorization plus the extra headers. Never printed. */
  secretHeaders: Record<string, string>;
  extraHeaderNames: string[];
  tls: ComfyTlsOptions | undefined;
}

function invalid(message: string): ComfyError {
  return new ComfyError('INVALID_ARGUMENT', message);
}

function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

function headerValueIsSafe(value: string): boolean {
  return !/[\r\n\0]/.test(value);
}

/**
 * Parses and checks connection options; throws `ComfyError` code INVALID_ARGUMENT with a clear
 * message (never echoing secrets) when they are unusable.
 *
 * @example
 * const conn = resolveConnection({ baseUrl: 'https://user:pw@gpu1.lan/comfy' });
 * conn.displayUrl; // 'https://gpu1.lan/comfy'
 */
export function resolveConnection(options: ComfyConnectionOptions): ResolvedConnection {
  let url: URL;
  try {
    url = new URL(String(options.baseUrl));
  } catch {
    throw invalid('baseUrl is not a valid URL (expected http(s)://host:port[/prefix])');
  }
  const scheme = url.protocol;
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(scheme)) {
    throw invalid(`baseUrl must use http, https, ws or wss, not ${scheme.replace(':', '')}`);
  }
  if (url.search || url.hash) {
    throw invalid('baseUrl must not contain a query string or fragment');
  }
  const secure = scheme === 'https:' || scheme === 'wss:';
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!hostname) throw invalid('baseUrl has no host');
  const pathPrefix = url.pathname.replace(/\/+$/, '');

  const secretHeaders: Record<string, string> = {};
  const extraHeaderNames: string[] = [];
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw invalid(`invalid header name "${name}"`);
    if (typeof value !== 'string' || !headerValueIsSafe(value)) {
      throw invalid(`invalid value for header "${name}"`);
    }
    secretHeaders[name.toLowerCase()] = value;
    extraHeaderNames.push(name);
  }

  let authKind: ResolvedConnection['authKind'] = 'none';
  const auth = options.auth;
  if (url.username || url.password) {
    secretHeaders.authorization = basicHeader(
      decodeURIComponent(url.username),
      decodeURIComponent(url.password),
    );
    authKind = 'basic';
  }
  if (auth !== undefined) {
    if ('bearer' in auth) {
      if (!auth.bearer || !headerValueIsSafe(auth.bearer)) throw invalid('invalid bearer token');
      secretHeaders.authorization = `Bearer ${auth.bearer}`;
      authKind = 'bearer';
    } else if ('basic' in auth) {
      const colon = auth.basic.indexOf(':');
      if (colon < 0) throw invalid('basic auth must be given as "user:password"');
      secretHeaders.authorization = basicHeader(
        auth.basic.slice(0, colon),
        auth.basic.slice(colon + 1),
      );
      authKind = 'basic';
    } else {
      secretHeaders.authorization = basicHeader(auth.username, auth.password);
      authKind = 'basic';
    }
  }

  const hostPart = hostname.includes(':') ? `[${hostname}]` : hostname;
  const defaultPort = secure ? 443 : 80;
  const displayOrigin = `${secure ? 'https' : 'http'}://${hostPart}${port === defaultPort ? '' : `:${port}`}`;
  const displayUrl = `${displayOrigin}${pathPrefix}`;

  return {
    secure,
    hostname,
    port,
    pathPrefix,
    apiPrefix: options.apiPrefix ?? false,
    displayUrl,
    displayOrigin,
    authKind,
    secretHeaders,
    extraHeaderNames,
    tls: options.tls,
  };
}

/**
 * The request path for a route. `core` routes get `/api` when apiPrefix is on; the jobs routes
 * already carry it and pass `core: false`.
 */
export function routePath(conn: ResolvedConnection, route: string, core = true): string {
  return `${conn.pathPrefix}${core && conn.apiPrefix ? '/api' : ''}${route}`;
}

/** ws(s)://host:port/prefix/ws?clientId=... */
export function webSocketUrl(conn: ResolvedConnection, clientId: string): string {
  const hostPart = conn.hostname.includes(':') ? `[${conn.hostname}]` : conn.hostname;
  const path = routePath(conn, '/ws');
  return `${conn.secure ? 'wss' : 'ws'}://${hostPart}:${conn.port}${path}?clientId=${encodeURIComponent(clientId)}`;
}

/** What toJSON/inspect show about a connection: no secrets, only their presence. */
export function describeConnection(conn: ResolvedConnection): {
  url: string;
  auth: ResolvedConnection['authKind'];
  headers: string[];
} {
  return { url: conn.displayUrl, auth: conn.authKind, headers: [...conn.extraHeaderNames] };
}
