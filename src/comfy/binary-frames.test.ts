import { describe, expect, it } from 'vitest';
import {
  decodeBinaryFrame,
  encodePreviewFrame,
  encodePreviewWithMetadataFrame,
} from './binary-frames.js';

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

describe('binary frames', () => {
  it('round-trips a type-1 PNG preview', () => {
    const frame = decodeBinaryFrame(encodePreviewFrame(png, 'image/png'));
    expect(frame).toMatchObject({ kind: 'preview', format: 'png', mime: 'image/png' });
    expect(frame.kind === 'preview' && Array.from(frame.image)).toEqual(Array.from(png));
  });

  it('round-trips a type-4 preview with metadata', () => {
    const metadata = {
      node_id: '2',
      prompt_id: 'p',
      display_node_id: '2',
      parent_node_id: null,
      real_node_id: '2',
      image_type: 'image/jpeg' as const,
    };
    const frame = decodeBinaryFrame(encodePreviewWithMetadataFrame(png, metadata));
    expect(frame).toMatchObject({ kind: 'preview_with_metadata', metadata, mime: 'image/jpeg' });
  });

  it('decodes a text frame and reports unknown types', () => {
    const node = Buffer.from('7');
    const text = Buffer.from('working…');
    const head = Buffer.alloc(8);
    head.writeUInt32BE(3, 0);
    head.writeUInt32BE(node.length, 4);
    expect(decodeBinaryFrame(Buffer.concat([head, node, text]))).toEqual({
      kind: 'text',
      node_id: '7',
      text: 'working…',
    });
    const odd = Buffer.alloc(6);
    odd.writeUInt32BE(9, 0);
    expect(decodeBinaryFrame(odd)).toMatchObject({ kind: 'unknown', event_type: 9 });
  });

  it('reports a type-4 frame with unreadable metadata as unknown instead of throwing', () => {
    const bad = Buffer.from('{not json');
    const head = Buffer.alloc(8);
    head.writeUInt32BE(4, 0);
    head.writeUInt32BE(bad.length, 4);
    expect(decodeBinaryFrame(Buffer.concat([head, bad, png]))).toMatchObject({
      kind: 'unknown',
      event_type: 4,
    });
    const list = Buffer.from('[1]');
    head.writeUInt32BE(list.length, 4);
    expect(decodeBinaryFrame(Buffer.concat([head, list]))).toMatchObject({ kind: 'unknown' });
  });
});
