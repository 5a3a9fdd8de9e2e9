/**
 * A minimal ComfyUI client written only from comfyui-api.md (raw fetch + ws), used to check
 * that the gateway's drop-in routes behave like ComfyUI. Deliberately independent of src/comfy.
 */
import WebSocket from 'ws';

export interface WsMessage {
  type: string;
  data: Record<string, unknown>;
}

/** An HTTP answer: status, content type and body (JSON when it parses). */
export interface Answer {
  status: number;
  type: string;
  text: string;
  json: unknown;
  bytes: Buffer;
  headers: Headers;
}

export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  init: { contentType?: string; raw?: string | FormData; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  let payload: string | FormData | undefined = init.raw;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = init.contentType ?? 'application/json';
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(payload === undefined ? {} : { body: payload }),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    text,
    json,
    bytes,
    headers: res.headers,
  };
}

/** One `/ws` connection: every JSON message in arrival order, and every binary frame. */
export class ComfySocket {
  readonly messages: WsMessage[] = [];
  readonly binary: Buffer[] = [];
  readonly nonJsonText: string[] = [];
  #ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.binary.push(Buffer.from(data as Buffer));
        return;
      }
      const text = String(data);
      try {
        this.messages.push(JSON.parse(text) as WsMessage);
      } catch {
        this.nonJsonText.push(text);
      }
    });
  }

  static open(wsUrl: string): Promise<ComfySocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl);
      const s = new ComfySocket(ws);
      ws.once('open', () => resolve(s));
      ws.once('error', reject);
    });
  }

  send(msg: unknown): void {
    this.#ws.send(JSON.stringify(msg));
  }

  /** Waits (bounded) until a message matches. */
  async waitFor(
    pred: (m: WsMessage) => boolean,
    limitMs = 10_000,
    what = 'message',
  ): Promise<WsMessage> {
    const start = Date.now();
    for (;;) {
      const hit = this.messages.find(pred);
      if (hit) return hit;
      if (Date.now() - start > limitMs) {
        throw new Error(
          `timed out waiting for ${what}; got ${JSON.stringify(this.messages.map((m) => m.type))}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The messages that carry this prompt id (in order). */
  forPrompt(promptId: string): WsMessage[] {
    return this.messages.filter((m) => m.data?.prompt_id === promptId);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#ws.readyState === WebSocket.CLOSED) return resolve();
      this.#ws.once('close', () => resolve());
      this.#ws.close();
    });
  }
}

/** `executing {node: null, prompt_id}`: ComfyUI's "done" signal. */
export function isDone(promptId: string): (m: WsMessage) => boolean {
  return (m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId;
}
