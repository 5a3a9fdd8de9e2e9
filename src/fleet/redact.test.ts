import { describe, expect, it } from 'vitest';
import { connectionOf } from './connection.js';
import { normalizeInstance } from './instance-validation.js';
import { publicInstance, redactSecrets } from './redact.js';

function make(auth: Record<string, unknown>, tls = false) {
  const r = normalizeInstance(
    { name: 'gpu', host: 'gpu.lan', port: 8188, tls, auth },
    { shape: 'create', source: 'api', now: '2025-01-01T00:00:00.000Z' },
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.instance;
}

describe('redaction', () => {
  it('publicInstance keeps only the auth type, and does not alias the original', () => {
    const inst = make({ type: 'basic', username: 'ann', password: 'hunter2' });
    const pub = publicInstance(inst);
    expect(pub.auth).toEqual({ type: 'basic', redacted: true });
    expect(JSON.stringify(pub)).not.toContain('hunter2');
    expect(JSON.stringify(pub)).not.toContain('ann');
    pub.tags.push('x');
    expect(inst.tags).toEqual([]);
  });

  it('redactSecrets hides secret-looking keys anywhere, keeps the rest, survives cycles', () => {
    const cyclic: Record<string, unknown> = { name: 'n' };
    cyclic.self = cyclic;
    const out = redactSecrets({
      instance: make({ type: 'bearer', token: 'tok-123' }),
      headers: { Authorization: 'Bearer tok-123', accept: 'json' },
      list: [{ password: 'p' }],
      cyclic,
    });
    const text = JSON.stringify(out);
    expect(text).not.toContain('tok-123');
    expect(text).not.toContain('"p"');
    expect(out).toMatchObject({
      instance: { auth: { type: 'bearer', redacted: true }, host: 'gpu.lan' },
      headers: { Authorization: '[redacted]', accept: 'json' },
      list: [{ password: '[redacted]' }],
      cyclic: { name: 'n', self: '[circular]' },
    });
  });

  it('connectionOf is where credentials become headers (for the client only)', () => {
    expect(connectionOf(make({ type: 'bearer', token: 't' }, true))).toEqual({
      id: expect.any(String),
      base_url: 'https://gpu.lan:8188',
      ws_url: 'wss://gpu.lan:8188/ws',
      headers: { authorization: 'Bearer t' },
      timeout_ms: 300000,
    });
    expect(connectionOf(make({ type: 'basic', username: 'a', password: 'b' })).headers).toEqual({
      authorization: `Basic ${Buffer.from('a:b').toString('base64')}`,
    });
    expect(connectionOf(make({ type: 'header', name: 'X-Api-Key', value: 'k' })).headers).toEqual({
      'x-api-key': 'k',
    });
  });
});
