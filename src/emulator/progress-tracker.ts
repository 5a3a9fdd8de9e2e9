/**
 * Per-prompt node progress, sent as ComfyUI's `progress_state` (every node that is not pending,
 * on each start, update and finish) and `progress` messages, with preview frames in ComfyUI's
 * order: progress_state, type-4 frame (clients with preview metadata), progress, type-1 frame.
 */
import { encodePreviewFrame } from '../comfy/binary-frames.js';
import { pyFloatRepr, pyJson, pyString } from './py-json.js';
import type { Sid, WsHub } from './ws-hub.js';

interface NodeProgress {
  value: number;
  max: number;
  valueIsFloat: boolean;
  maxIsFloat: boolean;
  state: 'running' | 'finished';
  fragment: string;
}

interface Preview {
  image: Uint8Array;
  mime: 'image/png' | 'image/jpeg';
}

function num(value: number, isFloat: boolean): string {
  return isFloat || !Number.isInteger(value) ? pyFloatRepr(value) : String(value);
}

/**
 * @example
 * const progress = new ProgressTracker(promptId, hub, clientId);
 * progress.start('3'); progress.update('3', 5, 20); progress.finish('3');
 */
export class ProgressTracker {
  private readonly nodes = new Map<string, NodeProgress>();
  private readonly pid: string;
  private pendingProgress: { nodeId: string; value: number; max: number } | undefined;
  private pendingPreview: { nodeId: string; preview: Preview } | undefined;
  private flushQueued = false;

  constructor(
    private readonly promptId: string,
    private readonly hub: WsHub,
    private readonly sid: Sid,
  ) {
    this.pid = pyString(promptId);
  }

  start(nodeId: string): void {
    this.flush();
    this.set(nodeId, 0, 1, true, true, 'running');
    this.sendState();
  }

  /** A node never started (a cached output node) finishes at 1/1 (ints, as in ComfyUI). */
  finish(nodeId: string): void {
    this.flush();
    const entry = this.nodes.get(nodeId);
    if (entry === undefined) this.set(nodeId, 1, 1, false, false, 'finished');
    else this.set(nodeId, entry.max, entry.max, entry.maxIsFloat, entry.maxIsFloat, 'finished');
    this.sendState();
  }

  /** ctx.progress(): progress_state now; `progress` waits a moment for a matching preview. */
  update(nodeId: string, value: number, max: number): void {
    this.flush();
    this.set(nodeId, value, max, false, false, 'running');
    this.sendState();
    const preview = this.pendingPreview;
    if (preview !== undefined && preview.nodeId === nodeId) {
      this.pendingPreview = undefined;
      this.sendWithPreview(nodeId, value, max, preview.preview);
      return;
    }
    this.pendingProgress = { nodeId, value, max };
    this.queueFlush();
  }

  /** ctx.sendPreview(): joins the progress update of the same turn, else goes alone. */
  preview(nodeId: string, image: Uint8Array, mime: 'image/png' | 'image/jpeg'): void {
    const pending = this.pendingProgress;
    if (pending !== undefined && pending.nodeId === nodeId) {
      this.pendingProgress = undefined;
      this.sendWithPreview(nodeId, pending.value, pending.max, { image, mime });
      return;
    }
    this.flush();
    this.pendingPreview = { nodeId, preview: { image, mime } };
    this.queueFlush();
  }

  /** Sends whatever waits (called before any other message of the prompt). */
  flush(): void {
    const pending = this.pendingProgress;
    if (pending !== undefined) {
      this.pendingProgress = undefined;
      this.sendProgress(pending.nodeId, pending.value, pending.max);
    }
    const preview = this.pendingPreview;
    if (preview !== undefined) {
      this.pendingPreview = undefined;
      this.sendFrame(preview.nodeId, preview.preview);
    }
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private sendWithPreview(nodeId: string, value: number, max: number, preview: Preview): void {
    const withMetadata = this.hub.supportsPreviewMetadata(this.sid);
    if (withMetadata) this.sendFrame(nodeId, preview);
    this.sendProgress(nodeId, value, max);
    if (!withMetadata) this.sendFrame(nodeId, preview);
  }

  private sendFrame(nodeId: string, preview: Preview): void {
    if (this.hub.supportsPreviewMetadata(this.sid)) {
      const metadata = Buffer.from(
        pyJson({
          node_id: nodeId,
          prompt_id: this.promptId,
          display_node_id: nodeId,
          parent_node_id: null,
          real_node_id: nodeId,
          image_type: preview.mime,
        }),
      );
      const header = Buffer.alloc(8);
      header.writeUInt32BE(4, 0);
      header.writeUInt32BE(metadata.byteLength, 4);
      this.hub.sendBinary(Buffer.concat([header, metadata, preview.image]), this.sid);
    } else {
      this.hub.sendBinary(encodePreviewFrame(preview.image, preview.mime), this.sid);
    }
  }

  private sendProgress(nodeId: string, value: number, max: number): void {
    this.hub.sendJson(
      'progress',
      `{"value": ${num(value, false)}, "max": ${num(max, false)}, "prompt_id": ${this.pid}, "node": ${pyString(nodeId)}}`,
      this.sid,
    );
  }

  private set(
    nodeId: string,
    value: number,
    max: number,
    valueIsFloat: boolean,
    maxIsFloat: boolean,
    state: 'running' | 'finished',
  ): void {
    const id = pyString(nodeId);
    const fragment = `${id}: {"value": ${num(value, valueIsFloat)}, "max": ${num(max, maxIsFloat)}, "state": "${state}", "node_id": ${id}, "prompt_id": ${this.pid}, "display_node_id": ${id}, "parent_node_id": null, "real_node_id": ${id}}`;
    const entry = this.nodes.get(nodeId);
    if (entry === undefined) {
      this.nodes.set(nodeId, { value, max, valueIsFloat, maxIsFloat, state, fragment });
      return;
    }
    entry.value = value;
    entry.max = max;
    entry.valueIsFloat = valueIsFloat;
    entry.maxIsFloat = maxIsFloat;
    entry.state = state;
    entry.fragment = fragment;
  }

  private sendState(): void {
    let nodes = '';
    for (const entry of this.nodes.values()) {
      nodes += nodes === '' ? entry.fragment : `, ${entry.fragment}`;
    }
    this.hub.sendJson(
      'progress_state',
      `{"prompt_id": ${this.pid}, "nodes": {${nodes}}}`,
      this.sid,
    );
  }
}
