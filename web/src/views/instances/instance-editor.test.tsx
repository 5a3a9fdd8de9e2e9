import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configureApi, type InstanceView } from '../../api/index.js';
import { InstanceEditor } from './instance-editor.js';

/** A stand-in gateway on 127.0.0.1 answering the two editor routes in the gateway's shapes. */
interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown> | null;
}

describe('InstanceEditor against the gateway routes', () => {
  let server: Server;
  let route: (call: Call) => [number, unknown];
  const calls: Call[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const call: Call = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
        };
        calls.push(call);
        const [status, answer] = route(call);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    configureApi({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  afterAll(async () => {
    configureApi({ baseUrl: '' });
    await new Promise((r) => server.close(r));
  });
  afterEach(() => {
    cleanup();
    calls.length = 0;
  });

  const notFound: [number, unknown] = [404, { error: { code: 'not_found', message: 'no route' } }];

  async function settle(pred: () => boolean) {
    for (let i = 0; i < 200 && !pred(); i++) await act(() => new Promise((r) => setTimeout(r, 10)));
  }

  function renderEditor(instance: InstanceView | null = null) {
    render(
      <QueryClientProvider
        client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}
      >
        <InstanceEditor instance={instance} onClose={() => undefined} />
      </QueryClientProvider>,
    );
  }

  const input = (label: string) => screen.getByLabelText(label) as HTMLInputElement;

  it('tests an unsaved instance with what the form holds and shows version and GPUs', async () => {
    route = (c) =>
      c.method === 'POST' && c.path === '/api/v1/instances/test'
        ? [
            200,
            {
              result: {
                ok: true,
                comfyui_version: '0.8.0',
                python_version: '3.12.3',
                pytorch_version: '2.5.1',
                devices: [
                  {
                    name: 'cuda:0 NVIDIA GeForce RTX 4090',
                    type: 'cuda',
                    index: 0,
                    vram_total: 25_757_220_864,
                    vram_free: 24_000_000_000,
                  },
                ],
                round_trip_ms: 12.4,
              },
            },
          ]
        : notFound;
    renderEditor();
    fireEvent.change(input('Host'), { target: { value: 'gpu1.lan' } });
    fireEvent.change(input('Port'), { target: { value: '8190' } });
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    await settle(() => screen.queryByTestId('test-result') !== null);
    expect(screen.getByTestId('test-result').textContent).toMatch(
      /Connected: ComfyUI 0\.8\.0.*round trip 12 ms.*NVIDIA GeForce RTX 4090 \(cuda\)/,
    );
    const sent = calls.find((c) => c.path === '/api/v1/instances/test');
    expect(sent?.body).toMatchObject({ host: 'gpu1.lan', port: 8190, kind: 'remote' });
    expect(sent?.body).not.toHaveProperty('auth');
    expect(sent?.query.has('credentials_of')).toBe(false);
  });

  it("shows the gateway's field errors of a test on the fields, and a failure's kind", async () => {
    let answer: [number, unknown] = [
      400,
      {
        error: {
          code: 'validation_failed',
          message: 'the request is not valid: host ...',
          details: [{ path: 'host', message: 'is not a valid hostname: "bad host"' }],
        },
      },
    ];
    route = (c) => (c.path === '/api/v1/instances/test' ? answer : notFound);
    renderEditor();
    fireEvent.change(input('Host'), { target: { value: 'bad host' } });
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    await settle(() => document.querySelector('[data-field-error="host"]') !== null);
    expect(document.querySelector('[data-field-error="host"]')?.textContent).toContain(
      'is not a valid hostname',
    );
    expect(input('Host').getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(input('Host'));

    answer = [
      200,
      { result: { ok: false, kind: 'refused', message: 'connect ECONNREFUSED 127.0.0.1:8190' } },
    ];
    fireEvent.change(input('Host'), { target: { value: '127.0.0.1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    await settle(() => screen.queryByTestId('test-result') !== null);
    expect(screen.getByTestId('test-result').textContent).toMatch(
      /Not reachable \(refused\).*ECONNREFUSED/,
    );
  });

  it('tests edits of a saved instance with its stored credentials, without sending any', async () => {
    route = (c) =>
      c.path === '/api/v1/instances/test'
        ? [200, { result: { ok: false, kind: 'http_status', message: '401', status: 401 } }]
        : notFound;
    renderEditor(saved({ auth: { type: 'bearer', redacted: true } }));
    fireEvent.change(input('Port'), { target: { value: '8200' } });
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    await settle(() => screen.queryByTestId('test-result') !== null);
    const sent = calls.find((c) => c.path === '/api/v1/instances/test');
    expect(sent?.query.get('credentials_of')).toBe('id-gpu1');
    expect(sent?.body).toMatchObject({ port: 8200 });
    expect(sent?.body).not.toHaveProperty('auth');
    expect(screen.getByTestId('test-result').textContent).toContain('HTTP 401');
  });

  it('checks the port of a managed instance, names the holder and applies the suggested port', async () => {
    route = (c) => {
      if (c.path !== '/api/v1/instances/ports') return notFound;
      const port = Number(c.query.get('port'));
      if (port === 8188) {
        return [
          200,
          {
            port,
            host: c.query.get('host'),
            available: false,
            reason: 'port 8188 on 127.0.0.1 is in use by pid 4242 (python main.py --port 8188)',
            holder: { pid: 4242, command: 'python main.py --port 8188' },
            suggested: 8191,
          },
        ];
      }
      return [200, { port, host: '127.0.0.1', available: true, reason: null, suggested: port }];
    };
    renderEditor(saved({ kind: 'managed', port: 8188 }));
    await settle(() => screen.queryByTestId('port-status') !== null);
    expect(screen.getByTestId('port-status').textContent).toContain(
      'in use by pid 4242 (python main.py --port 8188)',
    );
    const asked = calls.find((c) => c.path === '/api/v1/instances/ports');
    expect(asked?.query.get('host')).toBe('127.0.0.1');
    expect(asked?.query.get('exclude')).toBe('id-gpu1');

    fireEvent.click(screen.getByRole('button', { name: 'Use suggested port 8191' }));
    expect(input('Port').value).toBe('8191');
    await settle(() => /free/.test(screen.queryByTestId('port-status')?.textContent ?? ''));
    expect(screen.getByTestId('port-status').textContent).toContain('free on the gateway host');
    expect(screen.queryByRole('button', { name: /Use suggested port/ })).toBeNull();

    // A remote instance's port is none of this machine's business.
    const before = calls.length;
    fireEvent.change(screen.getByLabelText('Kind'), { target: { value: 'remote' } });
    fireEvent.change(input('Port'), { target: { value: '8188' } });
    await act(() => new Promise((r) => setTimeout(r, 400)));
    expect(calls.slice(before).filter((c) => c.path === '/api/v1/instances/ports')).toEqual([]);
    expect(screen.queryByTestId('port-status')).toBeNull();
  });

  it('says so when the gateway has no port check', async () => {
    route = () => notFound;
    renderEditor(saved({ kind: 'managed' }));
    await settle(() => screen.queryByText(/port check not available/) !== null);
    expect(screen.getByText('port check not available on this gateway')).toBeTruthy();
  });
});

function saved(patch: Partial<InstanceView> = {}): InstanceView {
  return {
    id: 'id-gpu1',
    name: 'gpu1',
    description: '',
    host: '127.0.0.1',
    port: 8188,
    tls: false,
    auth: null,
    kind: 'remote',
    gpu_device: null,
    env_vars: {},
    custom_nodes_path: null,
    max_concurrent: 1,
    prefetch: 1,
    timeout_ms: 300_000,
    priority: 1,
    tags: [],
    enabled: true,
    auto_start: false,
    path_map: [],
    created_at: '2026-01-01T00:00:00.000Z',
    last_used_at: null,
    source: 'api',
    status: 'stopped',
    status_reason: null,
    active: false,
    origin: null,
    ...patch,
  };
}
