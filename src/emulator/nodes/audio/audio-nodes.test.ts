import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeRegistry } from '../index.js';
import { createTestContext, type TestContext } from '../testing/test-context.js';
import { encodeFlac } from './flac.js';

let ctx: TestContext | undefined;
afterEach(() => ctx?.cleanup());

const registry = createNodeRegistry();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** A minimal FLAC reader: STREAMINFO, Vorbis comments, and decoded 16-bit samples. */
function readFlac(buf: Buffer) {
  expect(buf.toString('latin1', 0, 4)).toBe('fLaC');
  let o = 4;
  let info = { rate: 0, channels: 0, bps: 0, total: 0 };
  const comments: Record<string, string> = {};
  for (;;) {
    const last = (buf[o] ?? 0) & 0x80;
    const type = (buf[o] ?? 0) & 0x7f;
    const len = buf.readUIntBE(o + 1, 3);
    const body = buf.subarray(o + 4, o + 4 + len);
    if (type === 0) {
      const rate = (body.readUInt32BE(10) >>> 12) & 0xfffff;
      const channels = (((body[12] ?? 0) >> 1) & 0x7) + 1;
      const bps = ((((body[12] ?? 0) & 1) << 4) | ((body[13] ?? 0) >> 4)) + 1;
      const total = ((body[13] ?? 0) & 0xf) * 2 ** 32 + body.readUInt32BE(14);
      info = { rate, channels, bps, total };
    } else if (type === 4) {
      let p = 4 + body.readUInt32LE(0);
      const n = body.readUInt32LE(p);
      p += 4;
      for (let i = 0; i < n; i++) {
        const l = body.readUInt32LE(p);
        const [k = '', ...v] = body.toString('utf8', p + 4, p + 4 + l).split('=');
        comments[k] = v.join('=');
        p += 4 + l;
      }
    }
    o += 4 + len;
    if (last) break;
  }
  // Frames: check sync and CRC-16, decode CONSTANT/VERBATIM subframes (byte-aligned layout).
  const samples: number[][] = Array.from({ length: info.channels }, () => []);
  let decoded = 0;
  while (o < buf.length) {
    expect(buf.readUInt16BE(o)).toBe(0xfff8);
    const start = o;
    let p = o + 4;
    while (((buf[p] ?? 0) & 0xc0) === 0x80 || p === o + 4) {
      p++;
      if (((buf[p] ?? 0) & 0xc0) !== 0x80) break;
    }
    const n = buf.readUInt16BE(p) + 1;
    p += 3; // block size + CRC-8
    for (let c = 0; c < info.channels; c++) {
      const kind = ((buf[p] ?? 0) >> 1) & 0x3f;
      p += 1;
      if (kind === 0) {
        const v = buf.readInt16BE(p);
        p += 2;
        for (let i = 0; i < n; i++) samples[c]?.push(v);
      } else {
        for (let i = 0; i < n; i++) {
          samples[c]?.push(buf.readInt16BE(p));
          p += 2;
        }
      }
    }
    expect(crc16(buf.subarray(start, p))).toBe(buf.readUInt16BE(p));
    o = p + 2;
    decoded += n;
  }
  return { info, comments, samples, decoded };
}

describe('FLAC encoder', () => {
  it('writes a stream whose header, comments, frames and CRCs check out', () => {
    const left = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i / 10) * 0.5);
    const flac = encodeFlac({ sampleRate: 22050, channels: [left, null] }, { prompt: '{"a": 1}' });
    const r = readFlac(flac);
    expect(r.info).toEqual({ rate: 22050, channels: 2, bps: 16, total: 5000 });
    expect(r.comments).toEqual({ prompt: '{"a": 1}' });
    expect(r.decoded).toBe(5000);
    expect(r.samples[0]?.[10]).toBe(Math.round(Math.sin(1) * 0.5 * 32767));
    expect(r.samples[1]?.every((v) => v === 0)).toBe(true);
  });
});

describe('EmptyAudio + SaveAudio', () => {
  it('saves silence as a small FLAC under audio/ and reports it under the "audio" key', async () => {
    ctx = createTestContext({
      prompt: { '1': { class_type: 'EmptyAudio', inputs: { duration: 2.5 } } },
      extraData: { extra_pnginfo: { workflow: { id: 'w' } } },
    });
    const [audio] =
      (
        await registry
          .get('EmptyAudio')
          ?.run({ duration: 2.5, sample_rate: 8000, channels: 2 }, ctx)
      )?.outputs ?? [];
    const save = registry.get('SaveAudio');
    const r1 = await save?.run({ audio, filename_prefix: 'audio/ComfyUI' }, ctx);
    const r2 = await save?.run({ audio, filename_prefix: 'audio/ComfyUI' }, ctx);
    expect(r1?.ui).toEqual({
      audio: [{ filename: 'ComfyUI_00001_.flac', subfolder: 'audio', type: 'output' }],
    });
    expect(r2?.ui?.audio?.[0]).toMatchObject({ filename: 'ComfyUI_00002_.flac' });
    const file = readFileSync(path.join(ctx.dirs.output, 'audio', 'ComfyUI_00001_.flac'));
    expect(file.length).toBeLessThan(2000);
    const r = readFlac(file);
    expect(r.info).toEqual({ rate: 8000, channels: 2, bps: 16, total: 20000 });
    expect(JSON.parse(r.comments.prompt ?? '')).toEqual({
      '1': { class_type: 'EmptyAudio', inputs: { duration: 2.5 } },
    });
    expect(r.comments.workflow).toBe('{"id": "w"}');
  });
});
