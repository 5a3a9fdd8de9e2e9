import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectGpus, parseNvidiaSmiCsv } from './gpu-detect.js';

const fixtures = fileURLToPath(new URL('./fixtures/nvidia-smi/', import.meta.url));
const fixture = (name: string) => readFile(join(fixtures, name), 'utf8');

describe('parseNvidiaSmiCsv', () => {
  it('reads "No devices were found" as zero GPUs', async () => {
    const parsed = parseNvidiaSmiCsv(await fixture('0-gpus-no-devices.txt'));
    expect(parsed).toEqual({ gpus: [], problems: [], noDevices: true });
  });

  it('reads one GPU', async () => {
    const parsed = parseNvidiaSmiCsv(await fixture('1-gpu-rtx4090.txt'));
    expect(parsed.gpus).toEqual([
      { index: 0, name: 'NVIDIA GeForce RTX 4090', memoryTotalMiB: 24564, memoryUsedMiB: 1 },
    ]);
    expect(parsed.problems).toEqual([]);
  });

  it('reads two GPUs with uneven padding', async () => {
    const parsed = parseNvidiaSmiCsv(await fixture('2-gpus-a6000.txt'));
    expect(parsed.gpus).toEqual([
      { index: 0, name: 'NVIDIA RTX A6000', memoryTotalMiB: 49140, memoryUsedMiB: 523 },
      { index: 1, name: 'NVIDIA RTX A6000', memoryTotalMiB: 49140, memoryUsedMiB: 3 },
    ]);
  });

  it('reads eight GPUs in index order', async () => {
    const parsed = parseNvidiaSmiCsv(await fixture('8-gpus-h100.txt'));
    expect(parsed.gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(parsed.gpus.every((g) => g.name === 'NVIDIA H100 80GB HBM3')).toBe(true);
    expect(parsed.gpus[4]).toMatchObject({ memoryTotalMiB: 81559, memoryUsedMiB: 71203 });
  });

  it('accepts CRLF, padding inside fields and [N/A] memory', async () => {
    const parsed = parseNvidiaSmiCsv(await fixture('2-gpus-odd-spacing.txt'));
    expect(parsed.gpus).toEqual([
      { index: 0, name: 'Tesla T4', memoryTotalMiB: 15360, memoryUsedMiB: null },
      { index: 1, name: 'NVIDIA GeForce RTX 3090 Ti', memoryTotalMiB: 24564, memoryUsedMiB: 1187 },
    ]);
    expect(parsed.problems).toEqual([]);
  });

  it('keeps a GPU name that contains a comma whole', () => {
    const parsed = parseNvidiaSmiCsv('3, Quadro RTX 8000, Rev 2, 46080, 0\n');
    expect(parsed.gpus).toEqual([
      { index: 3, name: 'Quadro RTX 8000, Rev 2', memoryTotalMiB: 46080, memoryUsedMiB: 0 },
    ]);
  });

  it('reports lines it cannot read instead of guessing', async () => {
    const parsed = parseNvidiaSmiCsv(await fixture('driver-failure.txt'));
    expect(parsed.gpus).toEqual([]);
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]).toMatch(/^line 1: .*NVIDIA-SMI has failed/);
    expect(parseNvidiaSmiCsv('x, GPU, 1, 2').problems[0]).toMatch(/index is not a number/);
  });
});

describe('detectGpus', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cc-gpu-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A stand-in nvidia-smi that prints a fixture, records that it ran, and exits with `code`. */
  async function fakeSmi(fixtureName: string, code = 0): Promise<string> {
    const path = join(dir, 'nvidia-smi');
    await writeFile(
      path,
      `#!/bin/sh\ntouch '${join(dir, 'ran')}'\ncat '${join(fixtures, fixtureName)}'\nexit ${code}\n`,
    );
    await chmod(path, 0o755);
    return path;
  }

  it('lists the GPUs nvidia-smi reports', async () => {
    const found = await detectGpus({ env: {}, nvidiaSmiPath: await fakeSmi('2-gpus-a6000.txt') });
    expect(found.source).toBe('nvidia-smi');
    expect(found.gpus.map((g) => g.index)).toEqual([0, 1]);
    expect(found.reason).toBeUndefined();
    expect(found.warnings).toEqual([]);
  });

  it('gives zero GPUs with a reason when nvidia-smi is absent', async () => {
    const found = await detectGpus({ env: {}, nvidiaSmiPath: join(dir, 'missing-nvidia-smi') });
    expect(found.gpus).toEqual([]);
    expect(found.source).toBe('none');
    expect(found.reason).toMatch(/not found/);
  });

  it('gives zero GPUs when nvidia-smi finds no device (exit 6)', async () => {
    const found = await detectGpus({
      env: {},
      nvidiaSmiPath: await fakeSmi('0-gpus-no-devices.txt', 6),
    });
    expect(found.gpus).toEqual([]);
    expect(found.reason).toBe('nvidia-smi: No devices were found');
  });

  it('names the driver failure when nvidia-smi fails (exit 9)', async () => {
    const found = await detectGpus({
      env: {},
      nvidiaSmiPath: await fakeSmi('driver-failure.txt', 9),
    });
    expect(found.gpus).toEqual([]);
    expect(found.reason).toMatch(/exit 9.*couldn't communicate with the NVIDIA driver/);
  });

  it('COMFYUI_CPU_ONLY skips nvidia-smi entirely', async () => {
    const smi = await fakeSmi('8-gpus-h100.txt');
    const found = await detectGpus({ env: { COMFYUI_CPU_ONLY: 'true' }, nvidiaSmiPath: smi });
    expect(found).toMatchObject({ gpus: [], cpuOnly: true, source: 'cpu-only' });
    await expect(stat(join(dir, 'ran'))).rejects.toThrow(/ENOENT/);
  });

  it('NUM_GPUS keeps the first N of the detected GPUs', async () => {
    const found = await detectGpus({
      env: { NUM_GPUS: '2' },
      nvidiaSmiPath: await fakeSmi('8-gpus-h100.txt'),
    });
    expect(found.source).toBe('num-gpus');
    expect(found.gpus.map((g) => g.index)).toEqual([0, 1]);
    expect(found.detected).toHaveLength(8);
  });

  it('NUM_GPUS plans GPUs nvidia-smi cannot see, and says so', async () => {
    const found = await detectGpus({
      env: { NUM_GPUS: '3' },
      nvidiaSmiPath: await fakeSmi('1-gpu-rtx4090.txt'),
    });
    expect(found.gpus.map((g) => [g.index, g.name])).toEqual([
      [0, 'NVIDIA GeForce RTX 4090'],
      [1, 'unknown (NUM_GPUS)'],
      [2, 'unknown (NUM_GPUS)'],
    ]);
    expect(found.warnings).toEqual([
      'NUM_GPUS=3 but nvidia-smi reported 1 GPU(s); planning 3 anyway',
    ]);
    const blind = await detectGpus({ env: { NUM_GPUS: '2' }, nvidiaSmiPath: join(dir, 'none') });
    expect(blind.gpus.map((g) => g.index)).toEqual([0, 1]);
    expect(blind.reason).toMatch(/NUM_GPUS=2 overrides the 0 GPU\(s\).*not found/);
  });

  it('names an unreadable NUM_GPUS or COMFYUI_CPU_ONLY and ignores it', async () => {
    const found = await detectGpus({
      env: { NUM_GPUS: 'two', COMFYUI_CPU_ONLY: 'maybe' },
      nvidiaSmiPath: await fakeSmi('1-gpu-rtx4090.txt'),
    });
    expect(found.gpus).toHaveLength(1);
    expect(found.warnings).toEqual([
      'COMFYUI_CPU_ONLY="maybe" ignored: expected true or false',
      'NUM_GPUS="two" ignored: expected an integer from 0 to 64',
    ]);
  });
});
