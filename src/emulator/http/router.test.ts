import { describe, expect, it } from 'vitest';
import { Router } from './router.js';

const noop = () => undefined;

describe('Router', () => {
  const router = new Router();
  router.add('GET', '/prompt', noop);
  router.add('POST', '/prompt', noop);
  router.add('GET', '/history/{prompt_id}', noop);
  router.add('GET', '/api/jobs', noop);
  router.add('PATCH', '/internal/logs/subscribe', noop, { mirror: false });

  it('mirrors routes under /api and decodes parameters', () => {
    const r = router.resolve('GET', '/api/history/a%20b');
    expect(r).toMatchObject({
      kind: 'route',
      template: '/history/{prompt_id}',
      params: { prompt_id: 'a b' },
    });
    expect(router.resolve('HEAD', '/prompt')).toMatchObject({ kind: 'route', template: '/prompt' });
  });

  it('has /api/jobs only with the prefix (and doubled), /internal never under /api', () => {
    expect(router.resolve('GET', '/api/jobs').kind).toBe('route');
    expect(router.resolve('GET', '/api/api/jobs').kind).toBe('route');
    expect(router.resolve('GET', '/jobs')).toEqual({ kind: 'error', status: 404 });
    expect(router.resolve('PATCH', '/internal/logs/subscribe').kind).toBe('route');
    expect(router.resolve('PATCH', '/api/internal/logs/subscribe')).toMatchObject({ status: 405 });
  });

  it('answers 405 with Allow like aiohttp behind a static web root', () => {
    expect(router.resolve('DELETE', '/prompt')).toEqual({
      kind: 'error',
      status: 405,
      allow: 'GET,HEAD,POST',
    });
    expect(router.resolve('POST', '/nonexistent')).toEqual({
      kind: 'error',
      status: 405,
      allow: 'GET,HEAD',
    });
    expect(router.resolve('GET', '/nonexistent')).toEqual({ kind: 'error', status: 404 });
  });
});
