import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BlurError,
  blurImage,
  ChannelIndexError,
  crc32,
  cropImage,
  decodePng,
  encodePng,
  formatTensor,
  imageToMask,
  imageToPixels,
  invert,
  maskToImage,
  padForOutpaint,
  pixelsToImage,
  pyRound,
  readPngText,
  resizeImage,
  ScaleError,
  sharpenImage,
  solidImage,
  Tensor,
} from './index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const recordings = path.resolve(repoRoot, '../shared/comfyui-protocol');

function img(w: number, h: number, values: number[], channels = 1): Tensor {
  return new Tensor([1, h, w, channels], Float32Array.from(values));
}

describe('scaling', () => {
  it('nearest-exact doubles a 2x2 image by repeating pixels', () => {
    const out = resizeImage(img(2, 2, [1, 2, 3, 4]), 4, 4, 'nearest-exact');
    expect([...out.data]).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  it('nearest-exact picks pixel centres when shrinking 3 -> 2', () => {
    const out = resizeImage(img(3, 1, [10, 20, 30]), 2, 1, 'nearest-exact');
    expect([...out.data]).toEqual([10, 30]);
  });

  it('bilinear follows PyTorch (align_corners=False): [0, 1] -> [0, 0.25, 0.75, 1]', () => {
    const out = resizeImage(img(2, 1, [0, 1]), 4, 1, 'bilinear');
    expect([...out.data]).toEqual([0, 0.25, 0.75, 1]);
  });

  it('bilinear 2x2 -> 4x4 gives the separable weights', () => {
    const out = resizeImage(img(2, 2, [0, 1, 1, 0]), 4, 4, 'bilinear');
    const row0 = [0, 0.25, 0.75, 1];
    const row1 = [0.25, 0.375, 0.625, 0.75];
    expect([...out.data.subarray(0, 4)]).toEqual(row0);
    expect([...out.data.subarray(4, 8)]).toEqual(row1);
    expect([...out.data.subarray(12, 16)]).toEqual([1, 0.75, 0.25, 0]);
  });

  it('area averages blocks', () => {
    const out = resizeImage(img(4, 2, [0, 1, 2, 3, 4, 5, 6, 7]), 2, 1, 'area');
    expect([...out.data]).toEqual([2.5, 4.5]);
  });

  it('bicubic and lanczos keep a flat image flat and are deterministic', () => {
    const flat = solidImage(7, 5, 1, 0x804020);
    for (const m of ['bicubic', 'lanczos'] as const) {
      const a = resizeImage(flat, 13, 3, m);
      const b = resizeImage(flat, 13, 3, m);
      expect(a.shape).toEqual([1, 3, 13, 3]);
      expect(a.data).toEqual(b.data);
      expect(imageToPixels(a, 0).data.slice(0, 3)).toEqual(Uint8Array.of(128, 64, 32));
    }
  });

  it('rounds sizes like Python (ties to even) and refuses empty outputs', () => {
    expect([pyRound(2.5), pyRound(3.5), pyRound(-1.5), pyRound(2.4999)]).toEqual([2, 4, -2, 2]);
    expect(() => resizeImage(img(1, 1, [0]), 0, 1, 'bilinear')).toThrow(ScaleError);
  });

  it('center crop before scaling keeps the middle', () => {
    const wide = img(4, 2, [0, 1, 2, 3, 4, 5, 6, 7]);
    const out = resizeImage(wide, 2, 2, 'nearest-exact', 'center');
    expect([...out.data]).toEqual([1, 2, 5, 6]);
  });
});

describe('pixel operations', () => {
  it('fills from 0xRRGGBB and saves with truncation like ComfyUI', () => {
    const px = imageToPixels(solidImage(1, 1, 1, 64726), 0);
    expect([...px.data]).toEqual([0, 252, 214]);
  });

  it('inverts in float32: 65 becomes 189 (not 190), as on a real server', () => {
    const image = pixelsToImage(Uint8Array.of(0, 255, 65), 1, 1, 3, 3);
    expect([...imageToPixels(invert(image), 0).data]).toEqual([255, 0, 189]);
  });

  it('ImageToMask of alpha on RGB raises the recorded IndexError text', () => {
    expect(() => imageToMask(solidImage(2, 2, 1, 0), 'alpha')).toThrow(
      new ChannelIndexError('index 3 is out of bounds for dimension 3 with size 3'),
    );
    const mask = imageToMask(img(2, 1, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3), 'green');
    expect([...mask.data]).toEqual([Math.fround(0.2), Math.fround(0.5)]);
    expect([...maskToImage(mask).data]).toEqual([0.2, 0.2, 0.2, 0.5, 0.5, 0.5].map(Math.fround));
  });

  it('crops with clamping and pads for outpainting with a feathered mask', () => {
    const src = img(3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...cropImage(src, 2, 5, 1, 1).data]).toEqual([5, 6, 8, 9]);
    const { image, mask } = padForOutpaint(img(2, 2, [1, 1, 1, 1]), 1, 0, 0, 0, 0);
    expect(image.shape).toEqual([1, 2, 3, 1]);
    expect([...image.data]).toEqual([0.5, 1, 1, 0.5, 1, 1]);
    expect([...mask.data]).toEqual([1, 0, 0, 1, 0, 0]);
  });
});

describe('blur and sharpen', () => {
  it('keeps a flat image flat and spreads a point symmetrically', () => {
    const flat = blurImage(solidImage(9, 9, 1, 0x808080), 2, 1);
    expect(imageToPixels(flat, 0).data.every((v) => v === 128)).toBe(true);
    const point = new Tensor([1, 7, 7, 1]);
    point.data[3 * 7 + 3] = 1;
    const b = blurImage(point, 2, 0.5);
    const at = (x: number, y: number) => b.data[y * 7 + x] ?? 0;
    expect(at(2, 3)).toBeCloseTo(at(4, 3), 7);
    expect(at(3, 2)).toBeCloseTo(at(3, 4), 7);
    expect(at(2, 2)).toBeCloseTo(at(4, 4), 7);
    expect(at(3, 3)).toBeGreaterThan(at(2, 3));
    expect([...b.data].reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
  });

  it('refuses a radius as large as the image, with PyTorch’s message', () => {
    expect(() => blurImage(solidImage(8, 8, 1, 0), 10, 1)).toThrow(
      new BlurError(
        'Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (10, 10) at dimension 3 of input [1, 3, 8, 8]',
      ),
    );
  });

  it('sharpening raises contrast at an edge and stays within 0..1', () => {
    const row = [0.2, 0.2, 0.2, 0.8, 0.8, 0.8];
    const edge = img(6, 3, [...row, ...row, ...row]);
    const s = sharpenImage(edge, 1, 1, 0.05);
    expect(s.data[8]).toBeLessThan(0.2);
    expect(s.data[9]).toBeGreaterThan(0.8);
    expect(s.data[6]).toBeCloseTo(0.2, 5);
    expect(Math.min(...s.data)).toBeGreaterThanOrEqual(0);
  });
});

describe('PNG', () => {
  it('round-trips pixels and text chunks (Latin-1 and UTF-8)', () => {
    const data = Uint8Array.from({ length: 5 * 3 * 4 }, (_, i) => (i * 37) % 256);
    const png = encodePng(
      { width: 5, height: 3, channels: 4, data },
      {
        text: [
          ['prompt', '{"a": 1}'],
          ['note', 'héllo ✓'],
        ],
      },
    );
    const decoded = decodePng(png);
    expect(decoded.hasAlpha).toBe(true);
    expect([...decoded.rgba]).toEqual([...data]);
    expect(readPngText(png)).toEqual({ prompt: '{"a": 1}', note: 'héllo ✓' });
  });

  it('computes the PNG CRC-32', () => {
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
  });

  it('grey images load as RGB without alpha', () => {
    const png = encodePng({ width: 2, height: 1, channels: 1, data: Uint8Array.of(7, 200) });
    const d = decodePng(png);
    expect(d.hasAlpha).toBe(false);
    expect([...d.rgba]).toEqual([7, 7, 7, 255, 200, 200, 200, 255]);
  });
});

describe('tensor repr', () => {
  it('prints an IMAGE exactly like the recorded execution_error current_inputs', () => {
    const rec = JSON.parse(
      readFileSync(path.join(recordings, 'ws_execution_error.json'), 'utf8'),
    ) as {
      ws: Array<{
        messages: Array<{
          json?: { type?: string; data?: { current_inputs?: { image?: string[] } } };
        }>;
      }>;
    };
    const error = rec.ws[0]?.messages.find((m) => m.json?.type === 'execution_error');
    const expected = error?.json?.data?.current_inputs?.image?.[0];
    expect(expected).toBeDefined();
    expect(formatTensor(solidImage(32, 32, 1, 64726))).toBe(expected);
  });

  it('prints small tensors, integer-valued tensors and empty ones', () => {
    expect(formatTensor(new Tensor([2], Float32Array.of(0, 0.5)))).toBe('tensor([0.0000, 0.5000])');
    expect(formatTensor(new Tensor([1, 2], Float32Array.of(1, 0)))).toBe('tensor([[1., 0.]])');
    expect(formatTensor(new Tensor([0, 3]))).toBe('tensor([], size=(0, 3))');
    expect(
      formatTensor(new Tensor([1, 64, 64])).startsWith('tensor([[[0., 0., 0.,  ..., 0., 0., 0.],'),
    ).toBe(true);
  });
});
