import { formatHostPort } from './host.js';
import type { Instance } from './instance.js';

/**
 * How to reach an instance: URLs and the headers carrying its credentials. Holds secrets: for
 * the ComfyUI client only, never for answers or logs.
 */
export interface InstanceConnection {
  id: string;
  /** `http(s)://host:port` without a trailing slash. */
  base_url: string;
  /** `ws(s)://host:port/ws` (the client adds `?clientId=`). */
  ws_url: string;
  headers: Record<string, string>;
  timeout_ms: number;
}

/**
 * The connection details of an instance.
 *
 * @example
 * connectionOf(instance).base_url; // 'https://gpu1.lan:443'
 */
export function connectionOf(instance: Instance): InstanceConnection {
  const address = formatHostPort(instance.host, instance.port);
  const headers: Record<string, string> = {};
  const auth = instance.auth;
  if (auth?.type === 'bearer') headers.authorization = `Bearer ${auth.token}`;
  if (auth?.type === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  }
  if (auth?.type === 'header') headers[auth.name.toLowerCase()] = auth.value;
  return {
    id: instance.id,
    base_url: `${instance.tls ? 'https' : 'http'}://${address}`,
    ws_url: `${instance.tls ? 'wss' : 'ws'}://${address}/ws`,
    headers,
    timeout_ms: instance.timeout_ms,
  };
}
