import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from './index.js';
import type { RunningEmulator } from './options.js';
import {
  http,
  loadRecording,
  multipart,
  OTHER_PNG,
  UPLOAD_PNG,
  upload,
} from './testing/test-kit.js';

describe('uploads', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('dedupes by content, renames on conflict, overwrites on request', async () => {
    const first = await upload(emu.url, 'gw_upload.png', UPLOAD_PNG);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.text).toBe('{"name": "gw_upload.png", "subfolder": "", "type": "input"}');
    expect((await upload(emu.url, 'gw_upload.png', UPLOAD_PNG)).json()).toEqual({
      name: 'gw_upload.png',
      subfolder: '',
      type: 'input',
    });
    expect((await upload(emu.url, 'gw_upload.png', OTHER_PNG)).json()).toMatchObject({
      name: 'gw_upload (1).png',
    });
    expect((await upload(emu.url, 'gw_upload.png', Buffer.from('third'))).json()).toMatchObject({
      name: 'gw_upload (2).png',
    });
    // The same bytes as an existing renamed file come back with that file's name.
    expect((await upload(emu.url, 'gw_upload.png', OTHER_PNG)).json()).toMatchObject({
      name: 'gw_upload (1).png',
    });
    expect(
      (await upload(emu.url, 'gw_upload.png', OTHER_PNG, { overwrite: 'true' })).json(),
    ).toMatchObject({
      name: 'gw_upload.png',
    });
    expect((await readFile(path.join(emu.dirs.input, 'gw_upload.png'))).equals(OTHER_PNG)).toBe(
      true,
    );
  });

  it('honours subfolder and type, and the /api prefix', async () => {
    expect(
      (await upload(emu.url, 'sub.png', UPLOAD_PNG, { subfolder: 'gwsub', type: 'input' })).json(),
    ).toEqual({
      name: 'sub.png',
      subfolder: 'gwsub',
      type: 'input',
    });
    await stat(path.join(emu.dirs.input, 'gwsub', 'sub.png'));
    expect((await upload(emu.url, 'tmp.png', UPLOAD_PNG, { type: 'temp' })).json()).toEqual({
      name: 'tmp.png',
      subfolder: '',
      type: 'temp',
    });
    await stat(path.join(emu.dirs.temp, 'tmp.png'));
    expect((await upload(emu.url, 'gw_api.png', UPLOAD_PNG, {}, '/api/upload/image')).status).toBe(
      200,
    );
  });

  it('refuses traversal (400), a missing image (400) and an unknown type (500)', async () => {
    const traversal = await upload(emu.url, 'evil.png', UPLOAD_PNG, { subfolder: '../../..' });
    expect(traversal.status).toBe(400);
    expect(traversal.headers['content-type']).toBe('application/octet-stream');
    expect((await upload(emu.url, 'evil.png', UPLOAD_PNG, { subfolder: '/etc' })).status).toBe(400);
    const form = multipart([{ name: 'notimage', value: 'x' }]);
    const missing = await http(emu.url, 'POST', '/upload/image', {
      body: form.body,
      headers: { 'Content-Type': form.contentType },
    });
    expect(missing.status).toBe(400);
    expect(missing.text).toBe('');
    expect((await http(emu.url, 'POST', '/upload/image', { body: '{}' })).status).toBe(400);
    expect((await upload(emu.url, 'x.png', UPLOAD_PNG, { type: 'bogus' })).status).toBe(500);
  });

  it('merges a mask upload into the original image and writes nothing for a bad reference', async () => {
    await writeFile(
      path.join(emu.dirs.output, 'orig.png'),
      await sharp({ create: { width: 4, height: 2, channels: 3, background: '#ff0000' } })
        .png()
        .toBuffer(),
    );
    const mask = await sharp({
      create: { width: 4, height: 2, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    const ok = await upload(
      emu.url,
      'masked.png',
      mask,
      {
        original_ref: JSON.stringify({ filename: 'orig.png', subfolder: '', type: 'output' }),
      },
      '/upload/mask',
    );
    expect(ok.json()).toEqual({ name: 'masked.png', subfolder: '', type: 'input' });
    const { data, info } = await sharp(path.join(emu.dirs.input, 'masked.png'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    expect([...data.subarray(0, 4)]).toEqual([255, 0, 0, 128]);
    const bad = await upload(
      emu.url,
      'ghost.png',
      mask,
      {
        original_ref: JSON.stringify({ filename: '../x.png' }),
      },
      '/upload/mask',
    );
    expect(bad.status).toBe(200);
    await expect(stat(path.join(emu.dirs.input, 'ghost.png'))).rejects.toThrow();
  });
});

describe('/view', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    await writeFile(path.join(emu.dirs.output, 'out.png'), UPLOAD_PNG);
    await upload(emu.url, 'in.png', UPLOAD_PNG);
    await upload(emu.url, 'sub.png', UPLOAD_PNG, { subfolder: 'gwsub' });
    await writeFile(path.join(emu.dirs.output, 'page.html'), '<script>1</script>');
  });
  afterAll(async () => {
    await emu.close();
  });

  it('serves files with the recorded headers, Etag and Last-Modified', async () => {
    const recorded = loadRecording('http_view.json').exchanges[0]?.response.headers ?? {};
    const res = await http(emu.url, 'GET', '/view?filename=out.png&subfolder=&type=output');
    expect(res.status).toBe(200);
    expect(res.headerOrder.filter((h) => h in recorded)).toEqual(Object.keys(recorded));
    expect(res.headers['content-disposition']).toBe('filename="out.png"');
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['accept-ranges']).toBe('bytes');
    const info = await stat(path.join(emu.dirs.output, 'out.png'), { bigint: true });
    expect(res.headers.etag).toBe(
      `"${info.mtimeNs.toString(16)}-${UPLOAD_PNG.length.toString(16)}"`,
    );
    expect(res.body.equals(UPLOAD_PNG)).toBe(true);
    const again = await http(emu.url, 'GET', '/api/view?filename=out.png', {
      headers: { 'If-None-Match': res.headers.etag ?? '' },
    });
    expect(again.status).toBe(304);
  });

  it('supports ranges', async () => {
    const part = await http(emu.url, 'GET', '/view?filename=out.png', {
      headers: { Range: 'bytes=1-3' },
    });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 1-3/${UPLOAD_PNG.length}`);
    expect(part.body.toString('latin1')).toBe('PNG');
    const beyond = await http(emu.url, 'GET', '/view?filename=out.png', {
      headers: { Range: 'bytes=9999-' },
    });
    expect(beyond.status).toBe(416);
  });

  it('resolves type, annotated names, subfolders and only the basename', async () => {
    expect((await http(emu.url, 'GET', '/view?filename=in.png&type=input')).status).toBe(200);
    expect((await http(emu.url, 'GET', '/view?filename=in.png%20%5Binput%5D')).status).toBe(200);
    expect(
      (await http(emu.url, 'GET', '/view?filename=sub.png&subfolder=gwsub&type=input')).status,
    ).toBe(200);
    expect((await http(emu.url, 'GET', '/view?filename=whatever/out.png')).status).toBe(200);
  });

  it('refuses unsafe names and answers missing files like ComfyUI', async () => {
    const cases: [string, number][] = [
      ['/view?filename=does_not_exist.png&type=output', 404],
      ['/view', 404],
      ['/view?filename=../../etc/passwd', 400],
      ['/view?filename=..%2F..%2Fetc%2Fpasswd&type=output', 400],
      ['/view?filename=/etc/passwd', 400],
      ['/view?filename=passwd&subfolder=../../../../etc&type=output', 403],
      ['/view?filename=out.png&type=bogus', 400],
    ];
    for (const [url, status] of cases) {
      const res = await http(emu.url, 'GET', url);
      expect(res.status, url).toBe(status);
      expect(res.text, url).toBe('');
      expect(res.headers['content-type']).toBe('application/octet-stream');
    }
  });

  it('never lets a browser render script content', async () => {
    const res = await http(emu.url, 'GET', '/view?filename=page.html');
    expect(res.headers['content-type']).toBe('application/octet-stream');
  });

  it('re-encodes previews and channels with sharp', async () => {
    const webp = await http(emu.url, 'GET', '/view?filename=out.png&type=output&preview=webp;50');
    expect(webp.headers['content-type']).toBe('image/webp');
    expect(webp.headers.etag).toBeUndefined();
    expect(webp.body.subarray(0, 4).toString()).toBe('RIFF');
    const jpeg = await http(emu.url, 'GET', '/view?filename=out.png&preview=jpeg;80');
    expect(jpeg.headers['content-type']).toBe('image/jpeg');
    expect((await sharp(jpeg.body).metadata()).format).toBe('jpeg');
    const rgb = await http(emu.url, 'GET', '/view?filename=out.png&channel=rgb');
    expect((await sharp(rgb.body).metadata()).channels).toBe(3);
    const alpha = await http(emu.url, 'GET', '/view?filename=out.png&channel=a');
    const { data, info } = await sharp(alpha.body).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    expect([...data.subarray(0, 4)]).toEqual([0, 0, 0, 255]);
  });
});
