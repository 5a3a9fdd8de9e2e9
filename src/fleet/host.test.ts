import { describe, expect, it } from 'vitest';
import { checkHost, formatHostPort, hostPortKey, parseHostPort } from './host.js';

describe('checkHost', () => {
  it.each([
    ['192.168.1.187', 'ipv4'],
    ['::1', 'ipv6'],
    ['[fe80::1]', 'ipv6'],
    ['localhost', 'hostname'],
    ['gpu-01.render.lan', 'hostname'],
    ['comfy_ui', 'hostname'],
    ['GPU1.Example.COM.', 'hostname'],
  ])('accepts %s as %s', (host, kind) => {
    const r = checkHost(host);
    expect(r.ok && r.kind).toBe(kind);
  });

  it.each([
    ['', 'host is empty'],
    ['http://10.0.0.5', "must not include a scheme ('http://')"],
    ['10.0.0.5:8188', "set host to '10.0.0.5' and put 8188 in port"],
    ['256.1.1.1', 'not a valid IPv4 address'],
    ['10.0.0', 'not a valid IPv4 address'],
    ['gpu box', 'characters other than letters, digits'],
    ['-gpu.lan', "starts or ends with '-'"],
    ['a..b', 'empty part between dots'],
    [`${'a'.repeat(64)}.lan`, 'longer than 63 characters'],
    ['[10.0.0.5]', 'not a valid IPv6 address'],
    ['host/path', 'must not include a path'],
    [' gpu ', 'spaces around it'],
  ])('rejects %j and says %s', (host, fragment) => {
    const r = checkHost(host);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(fragment);
  });

  it('normalizes case and IPv6 spelling', () => {
    expect(checkHost('GPU.LAN')).toMatchObject({ normalized: 'gpu.lan' });
    expect(checkHost('0:0:0:0:0:0:0:1')).toMatchObject({ normalized: '::1' });
  });
});

describe('hostPortKey', () => {
  it('treats loopback spellings as one machine and compares case-insensitively', () => {
    expect(hostPortKey('localhost', 8188)).toBe(hostPortKey('127.0.0.1', 8188));
    expect(hostPortKey('::1', 8188)).toBe(hostPortKey('LOCALHOST', 8188));
    expect(hostPortKey('Gpu.Lan', 8188)).toBe(hostPortKey('gpu.lan', 8188));
    expect(hostPortKey('gpu.lan', 8188)).not.toBe(hostPortKey('gpu.lan', 8189));
  });
});

describe('parseHostPort', () => {
  it.each([
    ['localhost:8189', { host: 'localhost', port: 8189, tls: false }],
    ['10.0.0.5', { host: '10.0.0.5', port: 8188, tls: false }],
    ['[::1]:9000', { host: '::1', port: 9000, tls: false }],
    ['::1', { host: '::1', port: 8188, tls: false }],
    ['http://gpu.lan:8190/', { host: 'gpu.lan', port: 8190, tls: false }],
    ['https://gpu.example', { host: 'gpu.example', port: 443, tls: true }],
    ['  gpu.lan:8188  ', { host: 'gpu.lan', port: 8188, tls: false }],
  ])('%j', (text, expected) => {
    expect(parseHostPort(text)).toEqual({ ok: true, ...expected });
  });

  it.each([
    ['', 'is empty'],
    ['gpu.lan:99999', "port '99999' is not a number between 1 and 65535"],
    ['gpu.lan:abc', "port 'abc'"],
    ['ftp://gpu.lan', "uses 'ftp://'"],
    ['http://gpu.lan:8188/comfy', "has a path ('/comfy')"],
    ['gpu lan:8188', 'not a valid hostname'],
  ])('rejects %j', (text, fragment) => {
    const r = parseHostPort(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(fragment);
  });

  it('formats IPv6 with brackets', () => {
    expect(formatHostPort('::1', 8188)).toBe('[::1]:8188');
    expect(formatHostPort('gpu', 1)).toBe('gpu:1');
  });
});
