/**
 * A small FLAC encoder (16-bit, fixed 4096-sample blocks, CONSTANT or VERBATIM subframes) so
 * SaveAudio writes real, playable .flac files. Silence compresses to a few bytes per block.
 */
import { createHash } from 'node:crypto';
import { BitWriter } from './bit-writer.js';

const BLOCK = 4096;

function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** FLAC's UTF-8-like coding of the frame number. */
function utf8Number(n: number): number[] {
  if (n < 0x80) return [n];
  const limits = [0x800, 0x10000, 0x200000, 0x4000000, 0x80000000];
  let count = 2;
  while (count - 2 < limits.length && n >= (limits[count - 2] ?? 0)) count++;
  const out: number[] = [];
  let v = n;
  for (let i = 0; i < count - 1; i++) {
    out.unshift(0x80 | (v & 0x3f));
    v = Math.floor(v / 64);
  }
  out.unshift(((0xff << (8 - count)) & 0xff) | v);
  return out;
}

function toInt16(v: number): number {
  return Math.round(Math.max(-1, Math.min(1, v)) * 32767);
}

/**
 * Encodes PCM channels (float -1..1) as a FLAC file, with Vorbis comments (`key=value`).
 *
 * @example
 * const flac = encodeFlac({ sampleRate: 44100, channels: [new Float32Array(44100)] }, { prompt: '{}' });
 */
export function encodeFlac(
  audio: { sampleRate: number; channels: Array<Float32Array | null>; length?: number },
  comments: Record<string, string> = {},
): Buffer {
  const nch = audio.channels.length;
  if (nch < 1 || nch > 8) throw new RangeError(`FLAC supports 1..8 channels, got ${nch}`);
  const total = audio.length ?? audio.channels[0]?.length ?? 0;
  const block = Math.max(16, Math.min(BLOCK, total || 16));
  const pcm = audio.channels.map((c) => {
    const out = new Int16Array(total);
    if (c) for (let i = 0; i < total; i++) out[i] = toInt16(c[i] ?? 0);
    return out;
  });
  const md5 = createHash('md5');
  const interleaved = Buffer.alloc(total * nch * 2);
  for (let i = 0; i < total; i++) {
    for (let c = 0; c < nch; c++) interleaved.writeInt16LE(pcm[c]?.[i] ?? 0, (i * nch + c) * 2);
  }
  md5.update(interleaved);

  const head = new BitWriter();
  head.pushBytes([0x66, 0x4c, 0x61, 0x43]); // "fLaC"
  head.write(0, 1);
  head.write(0, 7);
  head.write(34, 24);
  head.write(block, 16);
  head.write(block, 16);
  head.write(0, 24);
  head.write(0, 24);
  head.write(audio.sampleRate, 20);
  head.write(nch - 1, 3);
  head.write(15, 5);
  head.write(total, 36);
  head.pushBytes(md5.digest());
  const vendor = Buffer.from('Lavf60.16.100', 'utf8');
  const entries = Object.entries(comments).map(([k, v]) => Buffer.from(`${k}=${v}`, 'utf8'));
  const body = Buffer.alloc(4 + vendor.length + 4 + entries.reduce((n, e) => n + 4 + e.length, 0));
  let o = body.writeUInt32LE(vendor.length, 0);
  vendor.copy(body, o);
  o += vendor.length;
  o = body.writeUInt32LE(entries.length, o);
  for (const e of entries) {
    o = body.writeUInt32LE(e.length, o);
    e.copy(body, o);
    o += e.length;
  }
  head.write(1, 1);
  head.write(4, 7);
  head.write(body.length, 24);
  head.pushBytes(body);

  const frames: Uint8Array[] = [head.toBytes()];
  for (let start = 0, frame = 0; start < total; start += block, frame++) {
    const n = Math.min(block, total - start);
    const w = new BitWriter();
    w.write(0xfff8, 16);
    w.write(0b0111, 4); // block size: 16-bit (n - 1) after the header
    w.write(0, 4); // sample rate: from STREAMINFO
    w.write(nch - 1, 4);
    w.write(0b100, 3); // 16 bits per sample
    w.write(0, 1);
    w.pushBytes(utf8Number(frame));
    w.write(n - 1, 16);
    w.pushBytes([crc8(w.toBytes())]);
    for (let c = 0; c < nch; c++) {
      const samples = (pcm[c] ?? new Int16Array(total)).subarray(start, start + n);
      const first = samples[0] ?? 0;
      const constant = samples.every((s) => s === first);
      w.write(0, 1);
      w.write(constant ? 0 : 1, 6);
      w.write(0, 1);
      if (constant) w.write(first & 0xffff, 16);
      else for (const s of samples) w.write(s & 0xffff, 16);
    }
    w.align();
    const bytes = w.toBytes();
    const crc = crc16(bytes);
    frames.push(bytes, Uint8Array.of(crc >> 8, crc & 0xff));
  }
  return Buffer.concat(frames);
}
