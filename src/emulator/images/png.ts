/**
 * PNG files the way ComfyUI (through Pillow) writes and reads them.
 *
 * Encoding is done here rather than by pngjs because the bytes should match Pillow's: the same
 * per-row filter choice (none, up, sub, paeth; first strictly smaller sum wins), the same zlib
 * level and memLevel 9, IDAT split at 64 KiB, and `tEXt` chunks before the image data. With that, a
 * SaveImage output is byte-identical to a real server's. Decoding uses pngjs.
 */
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { crc32 } from './crc32.js';
import { deflate } from './deflate.js';

const SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);

export interface PngEncodeOptions {
  /** zlib level: SaveImage uses 4, PreviewImage and WebSocket previews 1, Pillow's default is 6. */
  compressLevel?: number;
  /** Text chunks in order, e.g. `[['prompt', '{...}']]`. */
  text?: ReadonlyArray<readonly [string, string]>;
}

/** 8-bit pixels, interleaved, `channels` per pixel (1 = L, 2 = LA, 3 = RGB, 4 = RGBA). */
export interface Pixels {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

const COLOR_TYPE: Record<Pixels['channels'], number> = { 1: 0, 2: 4, 3: 2, 4: 6 };

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/** A text chunk: tEXt when key and value are Latin-1, else Pillow's uncompressed iTXt. */
interface TextChunk {
  type: 'tEXt' | 'iTXt';
  key: string;
  value: string;
  /** Data bytes (key, separator, value). */
  length: number;
}

function textChunk(key: string, value: string): TextChunk {
  if (isLatin1(key) && isLatin1(value)) {
    return { type: 'tEXt', key, value, length: key.length + 1 + value.length };
  }
  return {
    type: 'iTXt',
    key,
    value,
    length: key.length + 5 + Buffer.byteLength(value, 'utf8'),
  };
}

/** Writes a chunk around `length` data bytes already at `offset + 8`; returns the next offset. */
function sealChunk(out: Buffer, offset: number, type: string, length: number): number {
  out.writeUInt32BE(length, offset);
  out.write(type, offset + 4, 'latin1');
  const end = offset + 8 + length;
  out.writeUInt32BE(crc32(out.subarray(offset + 4, end)), end);
  return end + 4;
}

function writeTextChunk(out: Buffer, offset: number, text: TextChunk): number {
  let o = offset + 8;
  o += out.write(text.key, o, 'latin1');
  if (text.type === 'tEXt') {
    out[o++] = 0;
    out.write(text.value, o, 'latin1');
  } else {
    out.fill(0, o, o + 5);
    out.write(text.value, o + 5, 'utf8');
  }
  return sealChunk(out, offset, text.type, text.length);
}

/** The PNG filters Pillow tries, in its order (the first strictly smaller sum wins). */
const FILTER_NONE = 0;
const FILTER_SUB = 1;
const FILTER_UP = 2;
const FILTER_PAETH = 4;
const CANDIDATES = [FILTER_UP, FILTER_SUB, FILTER_PAETH] as const;

/** Byte `i` of a row under a filter (`prev` is null for the first row, read as zeros). */
function filtered(
  type: number,
  d: Uint8Array,
  start: number,
  prevStart: number,
  i: number,
  bpp: number,
): number {
  const x = d[start + i] as number;
  if (type === FILTER_NONE) return x;
  const b = prevStart < 0 ? 0 : (d[prevStart + i] as number);
  if (type === FILTER_UP) return (x - b) & 0xff;
  const a = i >= bpp ? (d[start + i - bpp] as number) : 0;
  if (type === FILTER_SUB) return (x - a) & 0xff;
  const c = i >= bpp && prevStart >= 0 ? (d[prevStart + i - bpp] as number) : 0;
  const pa = Math.abs(b - c);
  const pb = Math.abs(a - c);
  const pc = Math.abs(a + b - 2 * c);
  const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
  return (x - pred) & 0xff;
}

/** Sum of |byte| (as signed) of a row under a filter: Pillow's choice criterion. */
function filterSum(
  type: number,
  d: Uint8Array,
  start: number,
  prevStart: number,
  stride: number,
  bpp: number,
): number {
  let sum = 0;
  for (let i = 0; i < stride; i++) {
    const v = filtered(type, d, start, prevStart, i, bpp);
    sum += v < 128 ? v : 256 - v;
  }
  return sum;
}

/** Filters all rows the way Pillow's ZIP encoder does (adaptive, without the "average" filter). */
function filterRows(p: Pixels): Uint8Array {
  const bpp = p.channels;
  const stride = p.width * bpp;
  const d = p.data;
  const out = new Uint8Array((stride + 1) * p.height);
  for (let y = 0; y < p.height; y++) {
    const start = y * stride;
    const prevStart = y > 0 ? start - stride : -1;
    let type = FILTER_NONE;
    let sum = filterSum(FILTER_NONE, d, start, prevStart, stride, bpp);
    for (const candidate of CANDIDATES) {
      if (sum <= 0) break;
      const s = filterSum(candidate, d, start, prevStart, stride, bpp);
      if (s < sum) {
        type = candidate;
        sum = s;
      }
    }
    const o = y * (stride + 1);
    out[o] = type;
    if (type === FILTER_NONE) out.set(d.subarray(start, start + stride), o + 1);
    else
      for (let i = 0; i < stride; i++) out[o + 1 + i] = filtered(type, d, start, prevStart, i, bpp);
  }
  return out;
}

/**
 * Encodes 8-bit pixels as PNG, byte for byte like Pillow's `Image.save(..., format="PNG")`.
 *
 * @example
 * const png = encodePng({ width: 1, height: 1, channels: 3, data: Uint8Array.of(255, 0, 0) }, {
 *   compressLevel: 4,
 *   text: [['prompt', '{}']],
 * });
 */
export function encodePng(p: Pixels, options: PngEncodeOptions = {}): Buffer {
  if (p.data.length !== p.width * p.height * p.channels) {
    throw new RangeError(
      `pixel buffer has ${p.data.length} bytes, expected ${p.width}x${p.height}x${p.channels}`,
    );
  }
  const texts = (options.text ?? []).map(([key, value]) => textChunk(key, value));
  const level = options.compressLevel ?? 6;
  const compressed = deflate(filterRows(p), level, 9);
  const blockSize = Math.max(65536, p.width * 4);
  const idatCount = Math.max(1, Math.ceil(compressed.length / blockSize));
  // One buffer for the whole file: signature, IHDR, text chunks, IDAT chunks, IEND.
  let size = SIGNATURE.length + 12 + 13 + idatCount * 12 + compressed.length + 12;
  for (const text of texts) size += 12 + text.length;
  const out = Buffer.allocUnsafe(size);
  out.set(SIGNATURE, 0);
  let o = SIGNATURE.length;
  out.writeUInt32BE(p.width, o + 8);
  out.writeUInt32BE(p.height, o + 12);
  out[o + 16] = 8;
  out[o + 17] = COLOR_TYPE[p.channels];
  out.fill(0, o + 18, o + 21);
  o = sealChunk(out, o, 'IHDR', 13);
  for (const text of texts) o = writeTextChunk(out, o, text);
  for (let i = 0; i < compressed.length || i === 0; i += blockSize) {
    const part = compressed.subarray(i, i + blockSize);
    out.set(part, o + 8);
    o = sealChunk(out, o, 'IDAT', part.length);
  }
  sealChunk(out, o, 'IEND', 0);
  return out;
}

/** A decoded PNG as ComfyUI's LoadImage sees it. */
export interface DecodedPng {
  width: number;
  height: number;
  /** RGBA, 8 bits per channel (16-bit files are scaled down). */
  rgba: Uint8Array;
  /**
   * Whether Pillow would give the image an alpha band (RGBA/LA, or a palette with transparency);
   * LoadImage builds its MASK from it. RGB or grey with a tRNS colour does not count.
   */
  hasAlpha: boolean;
}

function colorTypeOf(buf: Uint8Array): { colorType: number; hasTrns: boolean } {
  let colorType = -1;
  let hasTrns = false;
  let o = 8;
  while (o + 8 <= buf.length) {
    const len =
      ((buf[o] ?? 0) << 24) |
      ((buf[o + 1] ?? 0) << 16) |
      ((buf[o + 2] ?? 0) << 8) |
      (buf[o + 3] ?? 0);
    const type = String.fromCharCode(
      buf[o + 4] ?? 0,
      buf[o + 5] ?? 0,
      buf[o + 6] ?? 0,
      buf[o + 7] ?? 0,
    );
    if (type === 'IHDR') colorType = buf[o + 8 + 9] ?? -1;
    else if (type === 'tRNS') hasTrns = true;
    else if (type === 'IDAT' || type === 'IEND') break;
    o += 12 + (len >>> 0);
  }
  return { colorType, hasTrns };
}

/** True when `buf` starts with the PNG signature. */
export function isPng(buf: Uint8Array): boolean {
  if (buf.length < 8) return false;
  for (let i = 0; i < 8; i++) if (buf[i] !== SIGNATURE[i]) return false;
  return true;
}

/**
 * Decodes a PNG (any colour type, bit depth or interlacing) to 8-bit RGBA.
 *
 * @example
 * const { width, height, rgba, hasAlpha } = decodePng(readFileSync('in.png'));
 */
export function decodePng(buf: Buffer): DecodedPng {
  const png = PNG.sync.read(buf);
  const { colorType, hasTrns } = colorTypeOf(buf);
  const hasAlpha = colorType === 4 || colorType === 6 || (colorType === 3 && hasTrns);
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data), hasAlpha };
}

/**
 * Reads the text chunks (tEXt, zTXt, iTXt) of a PNG, in file order, as key → text.
 *
 * @example
 * JSON.parse(readPngText(readFileSync('ComfyUI_00001_.png')).prompt ?? '{}');
 */
export function readPngText(buf: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 8;
  while (o + 8 <= b.length) {
    const len = b.readUInt32BE(o);
    const type = b.toString('latin1', o + 4, o + 8);
    const data = b.subarray(o + 8, o + 8 + len);
    const nul = data.indexOf(0);
    if (nul > 0) {
      const key = data.toString('latin1', 0, nul);
      if (type === 'tEXt') out[key] = data.toString('latin1', nul + 1);
      else if (type === 'zTXt') out[key] = inflateSync(data.subarray(nul + 2)).toString('latin1');
      else if (type === 'iTXt') {
        const compressed = data[nul + 1] === 1;
        const langEnd = data.indexOf(0, nul + 3);
        const transEnd = data.indexOf(0, langEnd + 1);
        const body = data.subarray(transEnd + 1);
        out[key] = (compressed ? inflateSync(body) : body).toString('utf8');
      }
    }
    if (type === 'IEND') break;
    o += 12 + len;
  }
  return out;
}
