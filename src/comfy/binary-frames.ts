import { BinaryEventType, type BinaryFrame, type PreviewMetadata } from './protocol.js';

/**
 * Decodes one binary WebSocket frame (big-endian u32 event type first).
 *
 * @example
 * const frame = decodeBinaryFrame(new Uint8Array(data));
 * if (frame.kind === 'preview') save(frame.image);
 */
export function decodeBinaryFrame(bytes: Uint8Array): BinaryFrame {
  if (bytes.byteLength < 4) return { kind: 'unknown', event_type: -1, payload: bytes };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eventType = view.getUint32(0);
  switch (eventType) {
    case BinaryEventType.PREVIEW_IMAGE: {
      if (bytes.byteLength < 8) break;
      const format = view.getUint32(4) === 2 ? 'png' : 'jpeg';
      return {
        kind: 'preview',
        format,
        mime: format === 'png' ? 'image/png' : 'image/jpeg',
        image: bytes.subarray(8),
      };
    }
    case BinaryEventType.PREVIEW_IMAGE_WITH_METADATA: {
      if (bytes.byteLength < 8) break;
      const length = view.getUint32(4);
      if (8 + length > bytes.byteLength) break;
      let metadata: PreviewMetadata;
      try {
        metadata = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
      } catch {
        break;
      }
      // Malformed metadata is reported as an unknown frame rather than thrown.
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) break;
      return {
        kind: 'preview_with_metadata',
        metadata,
        mime: metadata.image_type,
        image: bytes.subarray(8 + length),
      };
    }
    case BinaryEventType.TEXT: {
      if (bytes.byteLength < 8) break;
      const length = view.getUint32(4);
      if (8 + length > bytes.byteLength) break;
      const decoder = new TextDecoder();
      return {
        kind: 'text',
        node_id: decoder.decode(bytes.subarray(8, 8 + length)),
        text: decoder.decode(bytes.subarray(8 + length)),
      };
    }
  }
  return { kind: 'unknown', event_type: eventType, payload: bytes.subarray(4) };
}

/** Encodes a type-1 preview frame (what clients without preview metadata support receive). */
export function encodePreviewFrame(image: Uint8Array, mime: 'image/png' | 'image/jpeg'): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(BinaryEventType.PREVIEW_IMAGE, 0);
  header.writeUInt32BE(mime === 'image/png' ? 2 : 1, 4);
  return Buffer.concat([header, image]);
}

/** Encodes a type-4 preview frame with its metadata JSON. */
export function encodePreviewWithMetadataFrame(
  image: Uint8Array,
  metadata: PreviewMetadata,
): Buffer {
  const json = Buffer.from(JSON.stringify(metadata));
  const header = Buffer.alloc(8);
  header.writeUInt32BE(BinaryEventType.PREVIEW_IMAGE_WITH_METADATA, 0);
  header.writeUInt32BE(json.byteLength, 4);
  return Buffer.concat([header, json, image]);
}
