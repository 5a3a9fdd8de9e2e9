import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ApiError } from '../../errors.js';

/** Loopback, private, link-local, CGNAT and unspecified ranges (v4 and v6). */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

/** True for an address only a local network (or this machine) can reach. */
export function isPrivateAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  return PRIVATE.check(address, v === 4 ? 'ipv4' : 'ipv6');
}

/** URL inputs: off unless hosts are allowlisted. */
export interface UrlInputPolicy {
  /** Hosts (`name` or `name:port`) inputs may be fetched from; empty = URL inputs are off. */
  allowHosts: readonly string[];
  /** Largest file fetched (bytes). */
  maxBytes: number;
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
}

/** True when `url`'s host (or host:port) is on the allowlist. Nothing else is ever fetched. */
export function hostAllowed(url: URL, allowHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowHosts.some((h) => {
    const entry = h.toLowerCase().trim();
    return entry === host || entry === `${host}:${port}`;
  });
}

/**
 * Fetches an input given as an http(s) URL. Refused (400 `input_url_refused`) when URL inputs
 * are off or the host is not allowlisted; redirects are not followed (they could leave the
 * allowlist); the size is bounded.
 *
 * @example
 * const bytes = await fetchUrlInput('http://127.0.0.1:9000/a.png', { allowHosts: ['127.0.0.1'], maxBytes: 1e8 }, 'inputs[0].url');
 */
export async function fetchUrlInput(
  raw: string,
  policy: UrlInputPolicy,
  path: string,
): Promise<Uint8Array> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError('validation_failed', `${path} is not a URL`, [
      { path, message: 'must be an http(s) URL' },
    ]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiError('validation_failed', `${path} must be http or https`, [
      { path, message: 'must be an http(s) URL' },
    ]);
  }
  if (policy.allowHosts.length === 0) {
    throw new ApiError(
      'bad_request',
      'URL inputs are off on this gateway (start it with --allow-input-hosts to allow some hosts)',
      [{ path, message: 'URL inputs are off' }],
    );
  }
  if (!hostAllowed(url, policy.allowHosts)) {
    throw new ApiError('bad_request', `${url.host} is not an allowed input host`, [
      { path, message: `host ${url.host} is not allowlisted` },
    ]);
  }
  // An allowlisted name that resolves to a private address is refused unless that address is
  // allowlisted itself (127.0.0.1 only when named).
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const addresses =
    isIP(host) !== 0
      ? [host]
      : await lookup(host, { all: true }).then(
          (list) => list.map((a) => a.address),
          () => [] as string[],
        );
  if (addresses.length === 0) {
    throw new ApiError('bad_request', `${path}: ${host} does not resolve`, [
      { path, message: 'host does not resolve' },
    ]);
  }
  const lower = policy.allowHosts.map((h) => h.toLowerCase().trim());
  const hidden = addresses.find((a) => isPrivateAddress(a) && !lower.includes(a.toLowerCase()));
  if (hidden) {
    throw new ApiError(
      'bad_request',
      `${path}: ${host} resolves to the private address ${hidden}, which is not allowlisted`,
      [{ path, message: `private address ${hidden} is not allowlisted` }],
    );
  }
  let res: Response;
  try {
    res = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(policy.timeoutMs ?? 30_000),
    });
  } catch (err) {
    throw new ApiError('bad_request', `could not fetch ${path}: ${(err as Error).message}`, [
      { path, message: 'fetch failed' },
    ]);
  }
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel();
    throw new ApiError('bad_request', `fetching ${path} answered HTTP ${res.status}`, [
      { path, message: `HTTP ${res.status}` },
    ]);
  }
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > policy.maxBytes) {
    await res.body.cancel();
    throw new ApiError('payload_too_large', `${path} is larger than ${policy.maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    if (size > policy.maxBytes) {
      throw new ApiError('payload_too_large', `${path} is larger than ${policy.maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
