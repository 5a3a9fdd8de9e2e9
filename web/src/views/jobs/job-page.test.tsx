import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configureApi, type JobView } from '../../api/index.js';
import { JobPage } from './job-page.js';

// A real HTTP server standing in for the issue-6 job routes (GET job, events SSE, cancel, retry).
let server: Server;
let job: JobView;
const calls: string[] = [];
const streams: ServerResponse[] = [];
let origin = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === `/api/v1/jobs/${job.id}`) return send(200, job);
    if (req.url === `/api/v1/jobs/${job.id}/events`) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `id: 1\nevent: job.created\ndata: ${JSON.stringify({ id: 1, type: 'job.created', time: '2026-01-01T00:00:00Z', data: { job: { ...job, status: 'pending' } } })}\n\n`,
      );
      streams.push(res);
      return;
    }
    if (req.url === `/api/v1/jobs/${job.id}/cancel`) return send(202, { job_id: job.id });
    if (req.url === `/api/v1/jobs/${job.id}/retry`)
      return send(202, { job_id: 'retry-1', status: 'pending' });
    send(404, { error: { code: 'job_not_found', message: 'no such job' } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  configureApi({ baseUrl: origin });
});

afterAll(async () => {
  configureApi({ baseUrl: '' });
  await new Promise((r) => server.close(r));
});

afterEach(() => {
  cleanup();
  for (const s of streams.splice(0)) s.destroy();
  calls.length = 0;
});

const base: JobView = {
  id: 'job-1',
  status: 'processing',
  phase: 'running',
  priority: 5,
  owner: 'artist',
  pin: null,
  tags: [],
  workflow: { '1': { class_type: 'LoadImage', inputs: { image: 'cat.png' } } },
  template: null,
  attempts: 1,
  max_attempts: 3,
  instance_id: 'gpu1',
  progress: { percent: 40, node: '2', step: 8, steps: 20 },
  error: null,
  retry_of: null,
  created_at: '2026-01-01T00:00:00Z',
  started_at: '2026-01-01T00:00:01Z',
  completed_at: null,
  processing_time_ms: null,
};

async function settle(pred: () => boolean) {
  for (let i = 0; i < 200 && !pred(); i++) await act(() => new Promise((r) => setTimeout(r, 10)));
}

function renderPage() {
  render(
    <QueryClientProvider
      client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}
    >
      <JobPage id="job-1" />
    </QueryClientProvider>,
  );
}

describe('JobPage', () => {
  it('shows progress, the live timeline, and cancels', async () => {
    job = base;
    renderPage();
    await settle(() => screen.queryByRole('progressbar', { name: 'Job progress' }) !== null);
    expect(
      screen.getByRole('progressbar', { name: 'Job progress' }).getAttribute('aria-valuenow'),
    ).toBe('40');
    expect(screen.getByText(/step 8 of 20/)).toBeTruthy();
    await settle(() => screen.queryByRole('list', { name: 'Job events' }) !== null);
    expect(screen.getByRole('list', { name: 'Job events' }).textContent).toContain('job.created');

    // A progress event on the job's stream moves the bar without a refetch.
    streams[0]!.write(
      `id: 2\nevent: job.progress\ndata: ${JSON.stringify({ id: 2, type: 'job.progress', time: '2026-01-01T00:00:03Z', data: { job_id: 'job-1', status: 'processing', phase: 'running', instance_id: 'gpu1', attempt: 1, progress: { percent: 90, node: '2', step: 18, steps: 20, updated_at: 1 } } })}\n\n`,
    );
    await settle(
      () =>
        screen.getByRole('progressbar', { name: 'Job progress' }).getAttribute('aria-valuenow') ===
        '90',
    );
    expect(
      screen.getByRole('progressbar', { name: 'Job progress' }).getAttribute('aria-valuenow'),
    ).toBe('90');

    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await settle(() => calls.includes('POST /api/v1/jobs/job-1/cancel'));
    expect(calls).toContain('POST /api/v1/jobs/job-1/cancel');
  });

  it('shows the error with the failing node and retries', async () => {
    job = {
      ...base,
      status: 'failed',
      phase: null,
      progress: null,
      completed_at: '2026-01-01T00:00:09Z',
      error: {
        code: 'execution_error',
        message: 'node 7 raised',
        node_id: '7',
        node_class: 'KSampler',
        exception_type: 'RuntimeError',
        exception_message: 'CUDA out of memory',
        details: null,
      },
    };
    renderPage();
    await settle(() => screen.queryByRole('alert') !== null);
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('Error: execution_error');
    expect(alert.textContent).toContain('Failing node: 7 (KSampler)');
    expect(alert.textContent).toContain('RuntimeError: CUDA out of memory');
    expect(screen.queryByRole('button', { name: 'Cancel' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await settle(() => location.pathname === '/jobs/retry-1');
    expect(location.pathname).toBe('/jobs/retry-1');
  });

  it('shows image outputs inline and other files as downloads', async () => {
    job = {
      ...base,
      status: 'completed',
      phase: null,
      progress: null,
      completed_at: '2026-01-01T00:00:09Z',
      processing_time_ms: 8000,
      outputs: [
        {
          index: 0,
          node_id: '9',
          output_key: 'images',
          kind: 'file',
          filename: 'out_00001_.png',
          subfolder: '',
          type: 'output',
          size: 2048,
          mime: 'image/png',
        },
        {
          index: 1,
          node_id: '10',
          output_key: 'audio',
          kind: 'file',
          filename: 'a.flac',
          subfolder: '',
          type: 'output',
          size: 4096,
          mime: 'audio/flac',
        },
        {
          index: 2,
          node_id: '11',
          output_key: 'text',
          kind: 'value',
          filename: null,
          subfolder: null,
          type: null,
          size: null,
          mime: null,
          value: 'hello',
        },
      ],
    };
    renderPage();
    await settle(() => screen.queryByRole('list', { name: 'Outputs' }) !== null);
    const img = screen.getByRole('img', { name: 'Output 0: out_00001_.png' }) as HTMLImageElement;
    expect(img.src).toBe(`${origin}/api/v1/jobs/job-1/outputs/0`);
    const download = screen.getByRole('link', { name: 'a.flac' }) as HTMLAnchorElement;
    expect(download.href).toBe(`${origin}/api/v1/jobs/job-1/outputs/1?download=1`);
    expect(download.hasAttribute('download')).toBe(true);
    expect(screen.getByText('hello')).toBeTruthy();
    expect(
      screen.getByRole('progressbar', { name: 'Job progress' }).getAttribute('aria-valuenow'),
    ).toBe('100');
  });
});
