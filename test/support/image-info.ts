/**
 * What an image body is, read from its first bytes: the format and, for PNG, the IHDR fields.
 * Two encoders never produce the same bytes, so contract tests compare these instead of hashes.
 */

export interface ImageInfo {
  format: 'png' | 'jpeg' | 'webp' | 'unknown';
  width?: number;
  height?: number;
  /** PNG colour type: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  pngColorType?: number;
}

const PNG_SIGNATURE = '89504e470d0a1a0a';

/**
 * @example
 * describeImage(await readFile('out.png')); // { format: 'png', width: 64, height: 64, pngColorType: 2 }
 */
export function describeImage(bytes: Uint8Array): ImageInfo {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 26 && buf.subarray(0, 8).toString('hex') === PNG_SIGNATURE) {
    return {
      format: 'png',
      width: buf.readUInt32BE(16),
      height: buf.readUInt32BE(20),
      pngColorType: buf.readUInt8(25),
    };
  }
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
    return { format: 'jpeg' };
  }
  if (
    buf.length >= 12 &&
    buf.subarray(0, 4).toString('latin1') === 'RIFF' &&
    buf.subarray(8, 12).toString('latin1') === 'WEBP'
  ) {
    return { format: 'webp' };
  }
  return { format: 'unknown' };
}
