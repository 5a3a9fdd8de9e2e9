import { isIPv4, isIPv6 } from 'node:net';
import { DEFAULT_PORT } from './instance.js';

/** Result of checking a host string. */
export type HostCheck =
  | { ok: true; kind: 'ipv4' | 'ipv6' | 'hostname'; normalized: string }
  | { ok: false; message: string };

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i;

/**
 * Checks host syntax: an IPv4 address, an IPv6 address (bare or in brackets) or a hostname
 * (labels of letters, digits, `-` and `_`). On failure the message says what to fix.
 *
 * @example
 * checkHost('gpu-01.lan');   // { ok: true, kind: 'hostname', normalized: 'gpu-01.lan' }
 * checkHost('10.0.0.5:8188'); // { ok: false, message: "... put 8188 in port" }
 */
export function checkHost(host: string): HostCheck {
  if (host.length === 0) {
    return { ok: false, message: 'host is empty; give a hostname or an IP address' };
  }
  if (host.trim() !== host) {
    return { ok: false, message: `host '${host}' has spaces around it; remove them` };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(host);
  if (scheme) {
    return {
      ok: false,
      message: `host must not include a scheme ('${scheme[1]}://'); give the bare host and set tls: true for https`,
    };
  }
  const bracketed = /^\[(.*)\]$/.exec(host);
  const bare = bracketed ? (bracketed[1] ?? '') : host;
  if (isIPv6(bare)) return { ok: true, kind: 'ipv6', normalized: normalizeIPv6(bare) };
  if (bracketed) return { ok: false, message: `host '${host}' is not a valid IPv6 address` };
  if (isIPv4(host)) return { ok: true, kind: 'ipv4', normalized: host };
  const withPort = /^(.+):(\d+)$/.exec(host);
  if (withPort && !withPort[1]?.includes(':')) {
    return {
      ok: false,
      message: `host must not include the port; set host to '${withPort[1]}' and put ${withPort[2]} in port`,
    };
  }
  if (host.includes('/')) {
    return { ok: false, message: `host '${host}' must not include a path; give the bare host` };
  }
  if (host.includes(':')) {
    return { ok: false, message: `host '${host}' is not a valid IPv6 address or hostname` };
  }
  if (/^[\d.]+$/.test(host)) {
    return {
      ok: false,
      message: `host '${host}' is not a valid IPv4 address (four numbers 0-255 separated by dots)`,
    };
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > 253) {
    return { ok: false, message: 'host is longer than 253 characters' };
  }
  const bad = name.split('.').find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    const why =
      bad.length === 0
        ? 'has an empty part between dots'
        : bad.length > 63
          ? `has a part longer than 63 characters ('${bad.slice(0, 20)}...')`
          : /^[-]|[-]$/.test(bad)
            ? `has a part that starts or ends with '-' ('${bad}')`
            : `has characters other than letters, digits, '-', '_' and '.' ('${bad}')`;
    return { ok: false, message: `host '${host}' is not a valid hostname: it ${why}` };
  }
  return { ok: true, kind: 'hostname', normalized: name.toLowerCase() };
}

function normalizeIPv6(address: string): string {
  const zone = address.indexOf('%');
  const base = zone === -1 ? address : address.slice(0, zone);
  try {
    return (
      new URL(`http://[${base}]/`).hostname.slice(1, -1) + (zone === -1 ? '' : address.slice(zone))
    );
  } catch {
    return address.toLowerCase();
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

/**
 * Identity of a server for duplicate detection: normalized host and port, with `localhost`,
 * `127.0.0.1` and `::1` treated as the same machine.
 *
 * @example
 * hostPortKey('LOCALHOST', 8188) === hostPortKey('127.0.0.1', 8188); // true
 */
export function hostPortKey(host: string, port: number): string {
  const check = checkHost(host);
  const h = check.ok ? check.normalized : host.toLowerCase();
  return `${LOOPBACK.has(h) ? 'loopback' : h}|${port}`;
}

/** `host:port`, with brackets around IPv6 addresses. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A parsed `host[:port]` or URL. */
export type HostPortParse =
  | { ok: true; host: string; port: number; tls: boolean }
  | { ok: false; message: string };

/**
 * Parses what users put in `COMFYUI_HOST_1` and friends: `host`, `host:port`, `[v6]:port`, a bare
 * IPv6 address, or `http(s)://host[:port][/]`. A missing port is 8188 (443 for https URLs).
 *
 * @example
 * parseHostPort('localhost:8189');        // { ok: true, host: 'localhost', port: 8189, tls: false }
 * parseHostPort('https://gpu.example');   // { ok: true, host: 'gpu.example', port: 443, tls: true }
 */
export function parseHostPort(text: string, defaultPort = DEFAULT_PORT): HostPortParse {
  const value = text.trim();
  if (value === '') return { ok: false, message: 'is empty; expected host:port' };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (scheme) {
    const proto = scheme[1]?.toLowerCase();
    if (proto !== 'http' && proto !== 'https') {
      return { ok: false, message: `uses '${proto}://'; expected http://, https:// or host:port` };
    }
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return {
        ok: false,
        message: `'${value}' is not a valid URL; expected e.g. http://host:8188`,
      };
    }
    if (url.pathname !== '/' && url.pathname !== '') {
      return {
        ok: false,
        message: `has a path ('${url.pathname}'); give only scheme, host and port`,
      };
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const tls = proto === 'https';
    return { ok: true, host, port: url.port ? Number(url.port) : tls ? 443 : defaultPort, tls };
  }
  if (isIPv6(value)) return { ok: true, host: value, port: defaultPort, tls: false };
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (v6) return finish(v6[1] ?? '', v6[2], defaultPort);
  const parts = /^([^:]+)(?::(.*))?$/.exec(value);
  if (!parts) return { ok: false, message: `'${value}' is not host:port` };
  return finish(parts[1] ?? '', parts[2], defaultPort);
}

function finish(host: string, portText: string | undefined, defaultPort: number): HostPortParse {
  const check = checkHost(host);
  if (!check.ok) return { ok: false, message: check.message };
  if (portText === undefined) return { ok: true, host, port: defaultPort, tls: false };
  const port = parsePort(portText);
  if (port === undefined) {
    return { ok: false, message: `port '${portText}' is not a number between 1 and 65535` };
  }
  return { ok: true, host, port, tls: false };
}

/**
 * A TCP port from text, or undefined when it is not an integer 1-65535.
 *
 * @example
 * parsePort('8188'); // 8188
 * parsePort('0');    // undefined
 */
export function parsePort(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{1,5}$/.test(t)) return undefined;
  const n = Number(t);
  return n >= 1 && n <= 65535 ? n : undefined;
}
