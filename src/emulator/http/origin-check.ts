/**
 * ComfyUI's origin-only middleware (used when --enable-cors-header is off): 403 for cross-site
 * browser requests, and 403 when Host names a loopback address and Origin's host differs.
 */
import { isIP } from 'node:net';

/**
 * Whether a request must be refused.
 *
 * @example
 * isForbiddenOrigin('127.0.0.1:8188', 'http://evil.example', undefined); // true
 */
export function isForbiddenOrigin(
  host: string | undefined,
  origin: string | undefined,
  secFetchSite: string | undefined,
): boolean {
  if (secFetchSite?.toLowerCase() === 'cross-site') return true;
  if (host === undefined || origin === undefined) return false;
  const hostParsed = splitHostPort(host.toLowerCase());
  if (hostParsed === undefined || !isLoopback(hostParsed.hostname)) return false;
  let originUrl: URL;
  try {
    originUrl = new URL(origin);
  } catch {
    return false;
  }
  const originHostname = originUrl.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const originHasPort = originUrl.port !== '' || /:\d+$/.test(originUrl.host);
  // Ports are compared only when both carry one.
  const hostSide = originHasPort ? host.toLowerCase() : hostParsed.hostname;
  const originSide = hostParsed.port !== undefined ? originUrl.host.toLowerCase() : originHostname;
  if (hostSide === '' || originSide === '') return false;
  return normalizeHost(hostSide) !== normalizeHost(originSide);
}

function normalizeHost(value: string): string {
  return value.replace(/^\[|\](?=:|$)/g, '');
}

function splitHostPort(host: string): { hostname: string; port?: string } | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracketed !== null) {
    const result: { hostname: string; port?: string } = { hostname: bracketed[1] ?? '' };
    if (bracketed[2] !== undefined) result.port = bracketed[2];
    return result;
  }
  const colon = host.lastIndexOf(':');
  if (colon > 0 && host.indexOf(':') === colon) {
    return { hostname: host.slice(0, colon), port: host.slice(colon + 1) };
  }
  return { hostname: host };
}

/** Loopback addresses and names (no DNS lookups on the request path). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const version = isIP(h);
  if (version === 4) return h.startsWith('127.');
  if (version === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}
