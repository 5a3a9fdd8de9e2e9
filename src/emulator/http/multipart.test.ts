import { describe, expect, it } from 'vitest';
import { multipartBoundary, parseMultipart } from './multipart.js';

function body(boundary: string, parts: string[]): Buffer {
  return Buffer.from(
    `${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`,
  );
}

describe('multipart', () => {
  it('reads the boundary, quoted or not', () => {
    expect(multipartBoundary('multipart/form-data; boundary=----abc')).toBe('----abc');
    expect(multipartBoundary('multipart/form-data; boundary="a;b"')).toBe('a;b');
    expect(multipartBoundary('application/json')).toBeUndefined();
  });

  it('splits files and fields, keeping binary data intact', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
    const raw = Buffer.concat([
      Buffer.from(
        '--XyZ\r\nContent-Disposition: form-data; name="image"; filename="a (1).png"\r\nContent-Type: image/png\r\n\r\n',
      ),
      png,
      Buffer.from(
        '\r\n--XyZ\r\nContent-Disposition: form-data; name="subfolder"\r\n\r\nsub/dir\r\n--XyZ--\r\n',
      ),
    ]);
    const parts = parseMultipart(raw, 'XyZ');
    expect(parts).toHaveLength(2);
    expect(parts[0]?.name).toBe('image');
    expect(parts[0]?.filename).toBe('a (1).png');
    expect(parts[0]?.contentType).toBe('image/png');
    expect(parts[0]?.data.equals(png)).toBe(true);
    expect(parts[1]).toMatchObject({ name: 'subfolder' });
    expect(parts[1]?.data.toString()).toBe('sub/dir');
  });

  it('decodes RFC 5987 file names', () => {
    const parts = parseMultipart(
      body('b', [
        'Content-Disposition: form-data; name="image"; filename="x.png"; filename*=utf-8\'\'na%C3%AFve.png\r\n\r\nDATA',
      ]),
      'b',
    );
    expect(parts[0]?.filename).toBe('naïve.png');
  });

  it('rejects a body without the boundary', () => {
    expect(() => parseMultipart(Buffer.from('nothing here'), 'b')).toThrow(/boundary/);
  });
});
