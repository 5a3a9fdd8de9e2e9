/**
 * The emulator's WebSocket endpoint (/ws and /api/ws), with ComfyUI's routing rules: sockets are
 * kept in a map keyed by clientId (a reconnect with the same id replaces the entry, and the old
 * socket's close removes the new one — ComfyUI's bug, reproduced), messages go to one sid or, for
 * sid None, to every socket; messages for an unknown sid are dropped.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { pyJson, pyString } from './py-json.js';

const FLUSH_INTERVAL_MS = 1;

/** A message target: null is ComfyUI's `sid=None` (broadcast); any other value names one socket. */
export type Sid = unknown;

interface Connection {
  socket: Duplex;
}

/**
 * Sockets, their feature flags and the send paths.
 *
 * @example
 * hub.sendJson('status', '{"status": {"exec_info": {"queue_remaining": 0}}}', null);
 */
export class WsHub {
  readonly sockets = new Map<string, WebSocket>();
  private readonly flags = new Map<string, Record<string, unknown>>();
  private readonly connections = new Map<WebSocket, Connection>();
  private readonly pending = new Map<
    WebSocket,
    { frames: (string | Buffer)[]; binary: boolean[]; size: number }
  >();
  /** `{"type": "<type>", "data": ` per message type (a handful, sent many times per prompt). */
  private readonly heads = new Map<string, string>();
  private flushScheduled = false;
  private lastFlush = 0;
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 4 * 1024 * 1024,
    clientTracking: false,
  });
  /** ComfyUI's server.client_id: set when a prompt starts, kept after it ends. */
  clientId: Sid = null;
  /** Display id of the node running for clientId (for the reconnect `executing`). */
  lastNodeId: string | null = null;
  opened = 0;

  constructor(
    private readonly hooks: {
      queueRemaining: () => number;
      serverFeatures: () => string;
    },
  ) {}

  get openCount(): number {
    return this.connections.size;
  }

  /** Completes a WebSocket upgrade on /ws; `clientId` is the decoded query value ('' if none). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, clientId: string): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, clientId));
  }

  /** Sends `{"type": type, "data": dataJson}` to sid (null: every socket). */
  sendJson(type: string, dataJson: string, sid: Sid): void {
    let head = this.heads.get(type);
    if (head === undefined) {
      head = `{"type": ${pyString(type)}, "data": `;
      if (this.heads.size < 64) this.heads.set(type, head);
    }
    const text = `${head}${dataJson}}`;
    if (sid === null) {
      for (const ws of this.sockets.values()) this.write(ws, text, false);
      return;
    }
    const ws = typeof sid === 'string' ? this.sockets.get(sid) : undefined;
    if (ws !== undefined) this.write(ws, text, false);
  }

  sendBinary(frame: Buffer, sid: Sid): void {
    if (sid === null) {
      for (const ws of this.sockets.values()) this.write(ws, frame, true);
      return;
    }
    const ws = typeof sid === 'string' ? this.sockets.get(sid) : undefined;
    if (ws !== undefined) this.write(ws, frame, true);
  }

  /** Whether sid declared `supports_preview_metadata: true` in its first message. */
  supportsPreviewMetadata(sid: Sid): boolean {
    if (typeof sid !== 'string') return false;
    return this.flags.get(sid)?.supports_preview_metadata === true;
  }

  /** Drops every connection at once (the dropWebSockets fault and close()). */
  terminateAll(): void {
    for (const ws of [...this.connections.keys()]) ws.terminate();
  }

  close(): void {
    this.terminateAll();
    this.wss.close();
  }

  private accept(ws: WebSocket, socket: Duplex, clientIdParam: string): void {
    let sid = clientIdParam;
    if (sid !== '') this.sockets.delete(sid);
    else sid = randomHex32();
    this.sockets.set(sid, ws);
    this.flags.set(sid, {});
    this.connections.set(ws, { socket });
    this.opened++;
    let firstMessage = true;
    ws.on('message', (data, isBinary) => {
      if (isBinary || !firstMessage) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        return;
      }
      // Only a JSON object counts as the first message (anything else fails in ComfyUI before).
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return;
      const message = parsed as Record<string, unknown>;
      if (message.type === 'feature_flags') {
        const clientFlags = message.data;
        this.flags.set(
          sid,
          typeof clientFlags === 'object' && clientFlags !== null && !Array.isArray(clientFlags)
            ? (clientFlags as Record<string, unknown>)
            : {},
        );
        this.write(ws, `{"type": "feature_flags", "data": ${this.hooks.serverFeatures()}}`, false);
      }
      firstMessage = false;
    });
    ws.on('close', () => {
      this.connections.delete(ws);
      // ComfyUI pops by id, even when a newer socket holds it now.
      this.sockets.delete(sid);
      this.flags.delete(sid);
    });
    ws.on('error', () => {
      // A broken client socket is the client's problem; 'close' follows.
    });
    this.write(
      ws,
      `{"type": "status", "data": {"status": {"exec_info": {"queue_remaining": ${this.hooks.queueRemaining()}}}, "sid": ${pyString(sid)}}}`,
      false,
    );
    if (this.clientId === sid && this.lastNodeId !== null) {
      this.write(ws, `{"type": "executing", "data": ${pyJson({ node: this.lastNodeId })}}`, false);
    }
  }

  // Frames leave in batches: queued per socket and written as one buffer at the next turn of
  // the event loop, or — when the last flush was under FLUSH_INTERVAL_MS ago — that much later,
  // so a busy instance makes one write per socket per millisecond, not one per message. Text is
  // always ASCII here (Python-style JSON escapes everything else), so it is copied as latin1.
  private write(ws: WebSocket, data: string | Buffer, binary: boolean): void {
    if (ws.readyState !== 1) return;
    let batch = this.pending.get(ws);
    if (batch === undefined) {
      batch = { frames: [], binary: [], size: 0 };
      this.pending.set(ws, batch);
    }
    const length = typeof data === 'string' ? data.length : data.byteLength;
    batch.frames.push(data);
    batch.binary.push(binary);
    batch.size += frameHeaderSize(length) + length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      const wait = this.lastFlush + FLUSH_INTERVAL_MS - performance.now();
      if (wait > 0) setTimeout(this.flushNow, wait);
      else setImmediate(this.flushNow);
    }
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.lastFlush = performance.now();
    for (const [ws, batch] of this.pending) {
      const socket = this.connections.get(ws)?.socket;
      if (socket === undefined || ws.readyState !== 1 || !socket.writable) continue;
      const out = Buffer.allocUnsafe(batch.size);
      let offset = 0;
      for (let i = 0; i < batch.frames.length; i++) {
        const data = batch.frames[i] as string | Buffer;
        const length = typeof data === 'string' ? data.length : data.byteLength;
        offset = writeFrameHeader(out, offset, batch.binary[i] === true, length);
        offset +=
          typeof data === 'string' ? out.write(data, offset, 'latin1') : data.copy(out, offset);
      }
      socket.write(out);
    }
    this.pending.clear();
  };
}

function frameHeaderSize(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** An unmasked, final server frame header (RFC 6455 §5.2); returns the payload offset. */
function writeFrameHeader(out: Buffer, offset: number, binary: boolean, length: number): number {
  out[offset] = binary ? 0x82 : 0x81;
  if (length < 126) {
    out[offset + 1] = length;
    return offset + 2;
  }
  if (length < 65536) {
    out[offset + 1] = 126;
    out.writeUInt16BE(length, offset + 2);
    return offset + 4;
  }
  out[offset + 1] = 127;
  out.writeUInt32BE(Math.floor(length / 2 ** 32), offset + 2);
  out.writeUInt32BE(length >>> 0, offset + 6);
  return offset + 10;
}

function randomHex32(): string {
  return randomUUID().replaceAll('-', '');
}
