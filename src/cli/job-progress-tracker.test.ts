import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../client/index.js';
import { JobProgressTracker } from './job-progress-tracker.js';

// 4 → 3 → 8 → 9, with 5, 6, 7 feeding 3: seven nodes.
const workflow = {
  '4': { class_type: 'CheckpointLoaderSimple', inputs: {} },
  '5': { class_type: 'EmptyLatentImage', inputs: {} },
  '6': { class_type: 'CLIPTextEncode', inputs: { clip: ['4', 1] } },
  '7': { class_type: 'CLIPTextEncode', inputs: { clip: ['4', 1] } },
  '3': {
    class_type: 'KSampler',
    inputs: { model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] },
  },
  '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
  '9': { class_type: 'SaveImage', inputs: { images: ['8', 0] } },
};

let seq = 0;
const progress = (
  node: string,
  step: number | null = null,
  steps: number | null = null,
): JobEvent => ({
  id: ++seq,
  type: 'job.progress',
  time: '',
  data: { job_id: 'j', attempt: 1, percent: null, node, step, steps },
});

describe('JobProgressTracker', () => {
  it("gives the whole job's percent: nodes before the running one plus its share", () => {
    const t = new JobProgressTracker(workflow, (id) => (id ? `name-${id}` : null));
    expect(t.change(progress('4'))).toMatchObject({
      percent: 0,
      node: '4',
      nodeClass: 'CheckpointLoaderSimple',
    });
    // KSampler at 10/20: its four inputs are done (4.5 of 7 nodes).
    const sampling = t.change(progress('3', 10, 20));
    expect(sampling).toMatchObject({ node: '3', nodeClass: 'KSampler', step: 10, steps: 20 });
    expect(sampling?.percent).toBeCloseTo((4.5 / 7) * 100, 5);
    // The next node arrives with the sampler's last count: that count is not VAEDecode's.
    const decoding = t.change(progress('8', 20, 20));
    expect(decoding).toMatchObject({ node: '8', nodeClass: 'VAEDecode', step: null, steps: null });
    expect(decoding?.percent).toBeCloseTo((5 / 7) * 100, 5);
    // Requeued (its instance was lost): everything starts over.
    expect(
      t.change({
        id: ++seq,
        type: 'job.status',
        time: '',
        data: { job_id: 'j', status: 'pending' },
      }),
    ).toEqual({
      status: 'pending',
      percent: null,
      node: null,
      step: null,
      steps: null,
      instance: null,
    });
  });

  it('maps status, phase and instance; knows cancellation', () => {
    const t = new JobProgressTracker(undefined, (id) => (id ? `name-${id}` : null));
    expect(
      t.change({
        id: 1,
        type: 'job.status',
        time: '',
        data: { job_id: 'j', status: 'processing', phase: 'uploading', instance_id: 'i1' },
      }),
    ).toEqual({ status: 'processing', phase: 'uploading', instance: 'name-i1' });
    expect(
      t.change({ id: 2, type: 'job.cancel_requested', time: '', data: { job_id: 'j' } }),
    ).toEqual({
      phase: 'cancelling',
    });
    // Without the workflow, the running node's own share is the percent.
    expect(t.change(progress('3', 5, 20))).toMatchObject({ percent: 25, nodeClass: null });
  });
});
