import { describe, expect, it } from 'vitest';
import type { Job, JobOutput } from '../../../jobs/index.js';
import { apiJob, gatewayOutputValue, historyRecord, queueItem } from './comfy-shapes.js';

const JOB_ID = '11111111-2222-4333-8444-555555555555';

function job(over: Partial<Job> = {}): Job {
  return {
    id: JOB_ID,
    status: 'completed',
    phase: null,
    cancel_requested: false,
    priority: 0,
    seq: 7,
    owner: null,
    pin: null,
    tags: [],
    workflow: { '1': { class_type: 'SaveImage', inputs: {} } },
    template: null,
    idempotency_key: null,
    metadata: {
      comfy: {
        prompt_id: null,
        client_id: 'c1',
        number: 3,
        extra_data: { client_id: 'c1' },
        outputs_to_execute: ['1'],
      },
    },
    webhook_url: null,
    timeout_ms: 300_000,
    max_attempts: 3,
    attempts: 1,
    excluded_instances: [],
    instance_id: 'i1',
    progress: null,
    error: null,
    retry_of: null,
    created_at: 1000,
    queued_at: 1000,
    started_at: 2000,
    completed_at: 3000,
    processing_time_ms: 1000,
    updated_at: 3000,
    ...over,
  } as Job;
}

const file: JobOutput = {
  index: 0,
  node_id: '1',
  output_key: 'images',
  kind: 'file',
  filename: 'ComfyUI_00001_.png',
  subfolder: '',
  type: 'output',
  size: 10,
  mime: 'image/png',
  stored_path: `${JOB_ID}/1/0-ComfyUI_00001_.png`,
  value: null,
} as JobOutput;

describe('ComfyUI shapes of a job', () => {
  it('queue item: [number, prompt_id, prompt, extra_data, outputs_to_execute]', () => {
    expect(queueItem(job())).toEqual([3, JOB_ID, job().workflow, { client_id: 'c1' }, ['1']]);
  });

  it('history record: outputs served by the gateway (subfolder present), status messages, meta', () => {
    const rec = historyRecord(job(), [file]);
    expect(rec.outputs).toEqual({
      '1': {
        images: [{ filename: 'ComfyUI_00001_.png', subfolder: `jobs/${JOB_ID}`, type: 'output' }],
      },
    });
    expect(rec.status.status_str).toBe('success');
    expect(rec.status.messages.map((m) => (m as [string])[0])).toEqual([
      'execution_start',
      'execution_cached',
      'execution_success',
    ]);
    expect(rec.meta['1']).toEqual({
      node_id: '1',
      display_node: '1',
      parent_node: null,
      real_node_id: '1',
    });
    const failed = historyRecord(job({ status: 'cancelled' }), []);
    expect(failed.status).toMatchObject({ status_str: 'error', completed: false });
    expect(failed.status.messages.at(-1)).toMatchObject([
      'execution_interrupted',
      { prompt_id: JOB_ID },
    ]);
  });

  it('/api/jobs entry leaves nulls out and words the status as ComfyUI', () => {
    const pending = apiJob(job({ status: 'pending', started_at: null, completed_at: null }));
    expect(pending).toEqual({
      id: JOB_ID,
      status: 'pending',
      priority: 3,
      create_time: 1000,
      outputs_count: 0,
    });
    expect(apiJob(job({ status: 'processing', completed_at: null })).status).toBe('in_progress');
    expect(apiJob(job(), [file])).toMatchObject({ outputs_count: 1, previewable_outputs_count: 1 });
  });

  it('temp files (previews) are listed with type temp after their node outputs, and count in /api/jobs', () => {
    const temp = {
      node_id: '2',
      output_key: 'images',
      filename: 'ComfyUI_temp_abcde_00001_.png',
      subfolder: '',
      stored_path: null,
    };
    const rec = historyRecord(job(), [file], { temps: [temp] });
    expect(rec.outputs['2']).toEqual({
      images: [
        { filename: 'ComfyUI_temp_abcde_00001_.png', subfolder: `jobs/${JOB_ID}`, type: 'temp' },
      ],
    });
    expect(Object.keys(rec.meta)).toEqual(['1', '2']);
    expect(apiJob(job(), [file], { temps: [temp] })).toMatchObject({
      outputs_count: 2,
      previewable_outputs_count: 2,
      preview_output: { type: 'output', nodeId: '1' },
    });
    expect(apiJob(job(), [], { temps: [temp] })).toMatchObject({
      outputs_count: 1,
      preview_output: { type: 'temp', nodeId: '2', mediaType: 'images' },
    });
  });

  it("history messages are the instance's when they end as the job ended, else the job's", () => {
    const own: Array<[string, Record<string, unknown>]> = [
      ['execution_start', { prompt_id: JOB_ID, timestamp: 5 }],
      ['execution_cached', { nodes: ['1'], prompt_id: JOB_ID, timestamp: 6 }],
      ['execution_success', { prompt_id: JOB_ID, timestamp: 7 }],
    ];
    expect(historyRecord(job(), [], { messages: own }).status.messages).toEqual(own);
    // A failed job with an instance record that says success (an earlier attempt): the job's.
    const failed = historyRecord(job({ status: 'failed' }), [], { messages: own });
    expect(failed.status.messages.map((m) => (m as [string])[0])).toEqual([
      'execution_start',
      'execution_cached',
      'execution_error',
    ]);
  });

  it('executed outputs of an instance point at the gateway (output and temp files)', () => {
    const out = gatewayOutputValue(JOB_ID, {
      images: [
        { filename: 'a.png', subfolder: 'x', type: 'output' },
        { filename: 't.png', subfolder: '', type: 'temp' },
      ],
      text: ['hi'],
    });
    expect(out).toEqual({
      images: [
        { filename: 'a.png', subfolder: `jobs/${JOB_ID}/x`, type: 'output' },
        { filename: 't.png', subfolder: `jobs/${JOB_ID}`, type: 'temp' },
      ],
      text: ['hi'],
    });
  });
});
