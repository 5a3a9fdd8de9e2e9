import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ClusterError,
  ClusterTimeoutError,
  GatewayUnreachableError,
} from '../client/index.js';
import { CliError, describeError, ExitCode, exitCodeOf } from './cli-error.js';
import { connect, gatewayUrl, parseWhole } from './remote-options.js';

describe('gatewayUrl', () => {
  it('takes --url over COMFY_CLUSTER_URL over the default, adds http://, drops a trailing slash', () => {
    expect(gatewayUrl({}, {})).toBe('http://127.0.0.1:8190');
    expect(gatewayUrl({}, { COMFY_CLUSTER_URL: ' ' })).toBe('http://127.0.0.1:8190');
    expect(gatewayUrl({}, { COMFY_CLUSTER_URL: 'https://gw.lan/' })).toBe('https://gw.lan');
    expect(gatewayUrl({ url: 'gpu-box:8190' }, { COMFY_CLUSTER_URL: 'https://gw.lan' })).toBe(
      'http://gpu-box:8190',
    );
    for (const bad of ['ftp://x', 'http://', 'http://a b']) {
      expect(() => gatewayUrl({ url: bad }, {})).toThrow(/--url must be an http\(s\) address/);
    }
  });

  it('connect takes the key from --api-key or COMFY_CLUSTER_API_KEY and checks --timeout', () => {
    expect(connect({ apiKey: 'cck_a' }, {}).context).toEqual({
      url: 'http://127.0.0.1:8190',
      apiKey: true,
    });
    expect(connect({}, { COMFY_CLUSTER_API_KEY: 'cck_b' }).context.apiKey).toBe(true);
    expect(connect({}, {}).context.apiKey).toBe(false);
    expect(() => connect({ timeout: '0' }, {})).toThrow(
      /--timeout must be a number of seconds > 0/,
    );
    expect(() => parseWhole('--lines', '1.5', 1, 10)).toThrow(
      '--lines must be a whole number from 1 to 10 (got "1.5")',
    );
    expect(parseWhole('--lines', '10', 1, 10)).toBe(10);
  });
});

describe('exit codes and messages', () => {
  const ctx = { url: 'http://gw:8190', apiKey: false };
  it('maps SDK errors to 3 (unreachable, timeout), 4 (401/403), 2 (400), 1 (the rest)', () => {
    expect(exitCodeOf(new GatewayUnreachableError('http://gw:8190'))).toBe(ExitCode.unreachable);
    expect(exitCodeOf(new ClusterTimeoutError('slow'))).toBe(ExitCode.unreachable);
    expect(exitCodeOf(new AuthError('unauthorized', 'no', { status: 401 }))).toBe(ExitCode.auth);
    expect(exitCodeOf(new AuthError('forbidden', 'no', { status: 403 }))).toBe(ExitCode.auth);
    expect(exitCodeOf(new ClusterError('validation_failed', 'bad', { status: 400 }))).toBe(
      ExitCode.usage,
    );
    expect(exitCodeOf(new ClusterError('not_found', 'no job x', { status: 404 }))).toBe(
      ExitCode.failed,
    );
    expect(exitCodeOf(new CliError('x', ExitCode.usage))).toBe(ExitCode.usage);
    expect(exitCodeOf(new Error('boom'))).toBe(ExitCode.failed);
  });

  it('says what to do, in one line', () => {
    expect(describeError(new GatewayUnreachableError('http://gw:8190'), ctx)).toBe(
      'gateway not reachable at http://gw:8190 — is `comfy-cluster serve` running? (another address: --url or COMFY_CLUSTER_URL)',
    );
    expect(describeError(new AuthError('unauthorized', 'no key', { status: 401 }), ctx)).toMatch(
      /needs an API key — pass --api-key KEY or set COMFY_CLUSTER_API_KEY$/,
    );
    expect(
      describeError(new AuthError('unauthorized', 'bad key', { status: 401 }), {
        ...ctx,
        apiKey: true,
      }),
    ).toMatch(/refused the API key \(revoked or mistyped\?\)/);
    expect(
      describeError(
        new ClusterError('validation_failed', 'request is invalid', {
          status: 400,
          details: [{ path: 'priority', message: 'must be <= 1000' }],
        }),
        ctx,
      ),
    ).toBe('request is invalid (priority: must be <= 1000)');
    expect(describeError(new Error('line one\n  line two'), ctx)).toBe('line one line two');
  });
});
