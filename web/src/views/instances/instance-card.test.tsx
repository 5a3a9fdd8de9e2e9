import { describe, expect, it } from 'vitest';
import type { InstanceHealthReport, InstanceView } from '../../api/index.js';
import { deviceLabel } from './instance-card.js';

// Only the fields deviceLabel reads; the rest of an instance does not matter here.
const instance = (over: Partial<InstanceView>) => ({ gpu_device: null, ...over }) as InstanceView;
const gpu = { name: 'cuda:0 NVIDIA RTX 4090', type: 'cuda', vram_total: 24e9, vram_free: 20e9 };

describe('deviceLabel', () => {
  it('shows the device from the list before any live health report arrives', () => {
    const view = instance({
      health_details: { devices: [gpu] } as NonNullable<InstanceView['health_details']>,
    });
    expect(deviceLabel(view, null)).toBe('cuda:0 NVIDIA RTX 4090');
  });

  it('prefers the live report, and falls back to the configured GPU, then a dash', () => {
    const live = { devices: [{ ...gpu, name: 'cpu' }] } as InstanceHealthReport;
    expect(deviceLabel(instance({}), live)).toBe('cpu');
    expect(deviceLabel(instance({ gpu_device: '1' } as Partial<InstanceView>), null)).toBe('GPU 1');
    expect(deviceLabel(instance({}), null)).toBe('—');
  });
});
