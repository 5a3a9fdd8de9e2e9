import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configureApi, type JobView } from '../../api/index.js';
import { summarizeJobEvent } from '../../state/job-stream.js';
import { jobTimes } from './jobs-page.js';
import { nodeErrorsText, parseWorkflow, SubmitJobPage } from './submit-job.js';

describe('parseWorkflow', () => {
  it('accepts API-format workflows (also wrapped in {prompt}) and explains the rest', () => {
    expect(parseWorkflow('{"1":{"class_type":"LoadImage","inputs":{}}}')).toEqual({
      workflow: { '1': { class_type: 'LoadImage', inputs: {} } },
    });
    expect(parseWorkflow('{"prompt":{"1":{"class_type":"X","inputs":{}}}}')).toHaveProperty(
      'workflow',
    );
    expect(parseWorkflow('{"nodes":[],"links":[]}')).toEqual({
      error: expect.stringMatching(/UI-format/),
    });
    expect(parseWorkflow('{"1":{"inputs":{}}}')).toEqual({
      error: expect.stringMatching(/node 1 has no class_type/),
    });
    expect(parseWorkflow('{nope')).toEqual({ error: expect.stringMatching(/not valid JSON/) });
    expect(parseWorkflow('[]')).toEqual({ error: 'the workflow must be a JSON object' });
    expect(parseWorkflow('{}')).toEqual({ error: 'the workflow has no nodes' });
  });
});

describe('job figures', () => {
  const base: JobView = {
    id: 'j',
    status: 'completed',
    phase: null,
    priority: 0,
    owner: null,
    pin: null,
    tags: [],
    template: null,
    attempts: 1,
    instance_id: 'gpu1',
    progress: null,
    error: null,
    retry_of: null,
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: '2026-01-01T00:00:02.000Z',
    completed_at: '2026-01-01T00:00:05.000Z',
    processing_time_ms: 3000,
  };
  it('computes wait and run times, running ones up to now', () => {
    expect(jobTimes(base)).toEqual({ wait: 2000, run: 3000 });
    const now = Date.parse('2026-01-01T00:00:10.000Z');
    expect(
      jobTimes(
        {
          ...base,
          status: 'pending',
          started_at: null,
          completed_at: null,
          processing_time_ms: null,
        },
        now,
      ),
    ).toEqual({
      wait: 10_000,
      run: null,
    });
    expect(
      jobTimes(
        { ...base, status: 'processing', completed_at: null, processing_time_ms: null },
        now,
      ),
    ).toEqual({ wait: 2000, run: 8000 });
  });

  it('summarizes node errors and job events in a line', () => {
    expect(
      nodeErrorsText({
        node_errors: {
          '3': {
            class_type: 'KSampler',
            errors: [{ message: 'Value not in list', details: 'sampler: x' }],
          },
        },
        missing: { node_classes: ['Foo'] },
      }),
    ).toBe('node 3 (KSampler): Value not in list: sampler: x · missing: {"node_classes":["Foo"]}');
    expect(
      summarizeJobEvent({
        job: { status: 'processing', phase: 'queued_on_instance', instance_id: 'gpu1' },
      }),
    ).toBe('processing · queued on instance · on gpu1');
    expect(
      summarizeJobEvent({
        job_id: 'j',
        status: 'processing',
        progress: { percent: 42.4, node: '5' },
      }),
    ).toBe('processing · 42% (node 5)');
  });
});

describe('SubmitJobPage', () => {
  let server: Server;
  let route: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  const posts: unknown[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => route(req, res, body));
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
    posts.length = 0;
  });

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  function gateway(onSubmit: (body: Record<string, unknown>) => [number, unknown]) {
    route = (req, res, body) => {
      if (req.url === '/api/v1/templates') {
        return send(res, 200, {
          templates: [
            {
              name: 'upscale-image',
              description: 'Upscale an image',
              parameters: {
                image: { node: '1', input: 'image', type: 'image', required: true },
                scale: { node: '2', input: 'scale_by', type: 'number', default: 2, min: 1, max: 8 },
              },
            },
          ],
        });
      }
      if (req.url === '/api/v1/instances') return send(res, 200, { instances: [] });
      if (req.url === '/api/v1/jobs' && req.method === 'POST') {
        const parsed = JSON.parse(body) as Record<string, unknown>;
        posts.push(parsed);
        const [status, answer] = onSubmit(parsed);
        return send(res, status, answer);
      }
      send(res, 404, { error: { code: 'not_found', message: 'no route' } });
    };
  }

  async function settle(pred: () => boolean) {
    for (let i = 0; i < 200 && !pred(); i++) await act(() => new Promise((r) => setTimeout(r, 10)));
  }

  function renderPage() {
    render(
      <QueryClientProvider
        client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}
      >
        <SubmitJobPage />
      </QueryClientProvider>,
    );
  }

  it('submits a template with its parameters and an attached image, then opens the job', async () => {
    gateway(() => [202, { job_id: 'job-123', status: 'pending', queue_position: 0 }]);
    renderPage();
    fireEvent.click(screen.getByRole('button', { name: 'Template' }));
    await settle(() => screen.queryByRole('option', { name: 'upscale-image' }) !== null);
    fireEvent.change(screen.getByLabelText('Template'), { target: { value: 'upscale-image' } });

    // Required image missing and a scale that is not a number: said before anything is sent.
    fireEvent.change(screen.getByLabelText(/^scale/), { target: { value: 'big' } });
    fireEvent.click(screen.getByRole('button', { name: 'Submit job' }));
    await settle(() => screen.queryByText('must be a number') !== null);
    expect(screen.getByText('is required')).toBeTruthy();
    expect(posts).toEqual([]);

    fireEvent.change(screen.getByLabelText(/^scale/), { target: { value: '3' } });
    const png = new File([new Uint8Array([137, 80, 78, 71])], 'cat.png', { type: 'image/png' });
    fireEvent.change(screen.getByLabelText(/^image/), { target: { files: [png] } });
    fireEvent.click(screen.getByRole('button', { name: 'Submit job' }));
    await settle(() => posts.length > 0 && location.pathname === '/jobs/job-123');
    expect(posts[0]).toEqual({
      template: 'upscale-image',
      params: { image: 'cat.png', scale: 3 },
      inputs: [{ name: 'cat.png', data: 'data:image/png;base64,iVBORw==' }],
      priority: 0,
    });
    expect(location.pathname).toBe('/jobs/job-123');
  });

  it("shows the gateway's refusal with the failing node", async () => {
    gateway(() => [
      400,
      {
        error: {
          code: 'workflow_invalid',
          message: 'the workflow was rejected',
          details: {
            node_errors: {
              '2': { class_type: 'ImageScaleBy', errors: [{ message: 'Value too big' }] },
            },
          },
        },
      },
    ]);
    renderPage();
    fireEvent.change(screen.getByLabelText('…or paste it'), {
      target: { value: '{"2":{"class_type":"ImageScaleBy","inputs":{"scale_by":99}}}' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Submit job' }));
    await settle(() => screen.queryByRole('alert') !== null);
    expect(screen.getByRole('alert').textContent).toBe(
      'the workflow was rejected — node 2 (ImageScaleBy): Value too big',
    );
  });

  it('says so when the gateway has no jobs API', async () => {
    route = (_req, res) => send(res, 404, { error: { code: 'not_found', message: 'no route' } });
    renderPage();
    fireEvent.change(screen.getByLabelText('…or paste it'), {
      target: { value: '{"1":{"class_type":"X","inputs":{}}}' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Submit job' }));
    await settle(() => screen.queryByRole('alert') !== null);
    expect(screen.getByRole('alert').textContent).toBe('Jobs API not available on this gateway.');
  });
});
