import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configureApi } from '../../api/index.js';
import { InstanceLogs } from './instance-logs.js';

/** A stand-in gateway on 127.0.0.1 answering the logs route in the gateway's shape. */
describe('InstanceLogs against the logs route', () => {
  let server: Server;
  let printed: string[] = [];
  const asked: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      asked.push(`${url.pathname}?${url.searchParams}`);
      const m = /^\/api\/v1\/instances\/([^/]+)\/logs$/.exec(url.pathname);
      res.setHeader('content-type', 'application/json');
      if (m?.[1] === 'far') {
        res.writeHead(409);
        res.end(
          JSON.stringify({
            error: {
              code: 'not_managed',
              message: "instance 'far' is remote: its output is not captured here",
            },
          }),
        );
        return;
      }
      const n = Number(url.searchParams.get('lines') ?? '200');
      res.writeHead(200);
      res.end(JSON.stringify({ instance_id: m?.[1], name: m?.[1], lines: printed.slice(-n) }));
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
    asked.length = 0;
  });

  async function settle(pred: () => boolean) {
    for (let i = 0; i < 200 && !pred(); i++) await act(() => new Promise((r) => setTimeout(r, 10)));
  }

  function show(id: string) {
    render(
      <QueryClientProvider
        client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}
      >
        <InstanceLogs instanceId={id} />
      </QueryClientProvider>,
    );
  }

  it('shows the printed lines, refreshes on demand and asks for more lines when chosen', async () => {
    printed = [
      '2026-11-25T03:00:00.000Z supervisor started pid 41: python main.py --port 8188',
      '2026-11-25T03:00:01.000Z stderr To see the GUI go to: http://127.0.0.1:8188',
    ];
    show('comfyui-gpu0');
    await settle(() => screen.queryByText(/To see the GUI/) !== null);
    const pre = screen.getByLabelText('Last 2 log lines');
    expect(pre.textContent).toBe(printed.join('\n'));
    expect(asked).toEqual(['/api/v1/instances/comfyui-gpu0/logs?lines=200']);

    printed.push('2026-11-25T03:00:09.000Z supervisor pid 41 exited (signal SIGKILL) unexpectedly');
    fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    await settle(() => screen.queryByText(/exited \(signal SIGKILL\)/) !== null);
    expect(screen.getByLabelText('Last 3 log lines')).toBeTruthy();

    fireEvent.change(screen.getByLabelText('Lines'), { target: { value: '1000' } });
    await settle(() => asked.includes('/api/v1/instances/comfyui-gpu0/logs?lines=1000'));
    expect(asked).toContain('/api/v1/instances/comfyui-gpu0/logs?lines=1000');
  });

  it('says why when the gateway has no log for the instance', async () => {
    show('far');
    await settle(() => screen.queryByText(/Cannot read the logs/) !== null);
    expect(screen.getByText(/Cannot read the logs/).textContent).toContain('is remote');
  });
});
