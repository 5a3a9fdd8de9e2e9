/**
 * Client <-> server: OUR ComfyUI client (src/comfy) driven against the target, held to the same
 * recordings as the raw-protocol files. Prompts go in through ComfyClient / runPrompt, events come
 * out of ComfyEventStream, and what the client hands to its caller (messages, history records,
 * errors, uploads, job details) must have the recorded shapes: the client neither drops nor
 * reshapes what the server says.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ComfyClient,
  type ComfyEvent,
  ComfyEventStream,
  ComfyValidationError,
  type JsonValue,
  type PostPromptBody,
  runPrompt,
} from '../../src/comfy/index.js';
import {
  assertShape,
  assertWsSequence,
  between,
  type CapturedMessage,
  describeImage,
  exchange,
  fileNames,
  freshColor,
  itWhen,
  loadTranscript,
  mapStrings,
  numberLike,
  PROMPT_ECHO_RULES,
  probeCapabilities,
  RECORDER_TIMING,
  recordedBytes,
  recordedPrompt,
  type ShapeRule,
  sharedTarget,
  socket,
  submit,
  WsCapture,
  withColor,
} from '../support/index.js';

const success = loadTranscript('ws_success_cached_partial');
const errors = loadTranscript('ws_execution_error');
const queue = loadTranscript('ws_queue_interrupt');
const invalid = loadTranscript('http_post_prompt_invalid');
const uploads = loadTranscript('http_upload_image');
const binary = loadTranscript('ws_binary_featureflags_noclientid');
const basic = loadTranscript('http_basic_get');
const caps = await probeCapabilities();
const target = sharedTarget(RECORDER_TIMING);

/** A history record (not keyed by id) as the client returns it. */
const RECORD_RULES: readonly ShapeRule[] = [
  { path: '$.prompt[0]', kind: 'type', why: 'queue number' },
  { path: '$.prompt[1]', kind: 'type', why: 'prompt id' },
  ...PROMPT_ECHO_RULES,
];

/** The recorded history record of the exchange `name` (the body's only entry). */
function recordedRecord(transcript: typeof success, name: string): unknown {
  const body = exchange(transcript, name).response.body_json as Record<string, unknown>;
  return Object.values(body)[0];
}

/** A stream event as the WS comparator sees messages. */
function asCaptured(event: ComfyEvent): CapturedMessage {
  if (event.type === 'binary' && !event.unknown) {
    const frame = event.frame;
    const base = { t_ms: 0, dir: 'server->client' as const, kind: 'binary' as const, length: 0 };
    if (frame.kind === 'preview') {
      return {
        ...base,
        event_type: 1,
        image_type: frame.format === 'png' ? 2 : 1,
        image: describeImage(frame.image),
      };
    }
    if (frame.kind === 'preview_with_metadata') {
      return {
        ...base,
        event_type: 4,
        metadata: frame.metadata as unknown as JsonValue,
        image: describeImage(frame.image),
      };
    }
    return { ...base, event_type: frame.kind === 'text' ? 3 : frame.event_type };
  }
  const data = ('data' in event ? event.data : null) as JsonValue;
  return { t_ms: 0, dir: 'server->client', kind: 'text', json: { type: event.type, data } };
}

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

/**
 * A client and a started event stream that records every event. Without `featureFlags` the stream
 * sends nothing first, as the recorder's plain sockets did.
 */
async function connect(featureFlags = false) {
  const client = new ComfyClient({ baseUrl: target().url });
  const stream = new ComfyEventStream({
    client,
    clientId: `gw-client-${target().runId}-${randomUUID().slice(0, 4)}`,
    ...(featureFlags ? {} : { featureFlags: false as const }),
  });
  const events: ComfyEvent[] = [];
  stream.on('message', (event) => events.push(event));
  open.push(stream, client);
  stream.start();
  await stream.whenConnected({ timeoutMs: 10_000 });
  // The connect `status` may still be in flight: the recordings start with it.
  for (let i = 0; i < 200 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  return { client, stream, events };
}

/** Polls `test` every 10 ms for at most 5 s. */
async function waitFor(test: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('client <-> server: ComfyClient and ComfyEventStream against the recordings', () => {
  it('the read calls return the recorded bodies unchanged', async () => {
    const client = new ComfyClient({ baseUrl: target().url });
    open.push(client);
    const body = (name: string) => exchange(basic, name).response.body_json;
    assertShape(await client.getPromptInfo(), body('GET /prompt'), 'getPromptInfo()');
    assertShape(await client.getQueue(), body('GET /queue'), 'getQueue()');
    assertShape(await client.getFeatures(), body('GET /features'), 'getFeatures()');
    assertShape(await client.listModelFolders(), body('GET /models'), 'listModelFolders()');
    expect(await client.listModels('no_such_folder')).toBeUndefined();
    expect(await client.getNodeInfo('NoSuchNode')).toBeUndefined();
    const info = loadTranscript('http_object_info');
    const saveImage = exchange(info, 'GET /object_info/SaveImage').response.body_json as Record<
      string,
      unknown
    >;
    assertShape(
      await client.getNodeInfo('SaveImage'),
      saveImage.SaveImage,
      'getNodeInfo(SaveImage)',
    );
  });

  itWhen(caps, { nodes: ['EmptyImage', 'SaveImage'] })(
    'runPrompt: a fresh run and its cached rerun give the recorded events and history',
    async () => {
      const { stream, events } = await connect(false);
      const prompt = withColor(recordedPrompt(exchange(success, 'POST /prompt')), freshColor());
      const first = await runPrompt(stream, { prompt }, { timeoutMs: 20_000 });
      target().track(first.promptId);
      const second = await runPrompt(stream, { prompt }, { timeoutMs: 20_000 });
      target().track(second.promptId);

      expect(first.outcome).toBe('success');
      expect(second.outcome).toBe('success');
      expect(first.via).toBe('events');
      assertShape(
        first.history,
        recordedRecord(success, 'GET /history/{prompt_id} after success'),
        'first.history',
        { extra: RECORD_RULES },
      );
      assertShape(
        second.history,
        recordedRecord(success, 'GET /history/{prompt_id} of fully cached run'),
        'second.history',
        { extra: RECORD_RULES },
      );
      const recorded = socket(success, 'submitting client');
      assertWsSequence(
        events.map(asCaptured),
        between(recorded, undefined, 'load_scale_invert_save'),
        'stream events',
      );
    },
  );

  itWhen(caps, { nodes: ['EmptyImage', 'ImageToMask', 'MaskToImage', 'SaveImage'] })(
    'runPrompt: a run-time failure ends with the recorded execution_error',
    async () => {
      const { stream, events } = await connect(false);
      const post = exchange(errors, 'POST /prompt');
      const result = await runPrompt(
        stream,
        { prompt: withColor(recordedPrompt(post), freshColor()) },
        { timeoutMs: 20_000 },
      );
      target().track(result.promptId);
      expect(result.outcome).toBe('error');
      const recorded = socket(errors, 'submitting client');
      const errorMessage = recorded.messages.find(
        (m) => m.kind === 'text' && m.json.type === 'execution_error',
      );
      if (errorMessage?.kind !== 'text') throw new Error('no execution_error in the recording');
      assertShape(result.error, errorMessage.json.data, 'result.error');
      assertShape(
        result.history,
        recordedRecord(errors, 'GET /history/{prompt_id} of failed prompt'),
        'result.history',
        { extra: RECORD_RULES },
      );
      assertWsSequence(
        events.map(asCaptured),
        between(recorded, undefined, 'POST slow job'),
        'stream events',
      );
    },
  );

  it('queuePrompt: validation failures throw ComfyValidationError with the recorded body', async () => {
    const client = new ComfyClient({ baseUrl: target().url });
    open.push(client);
    const problems: string[] = [];
    for (const ex of invalid.exchanges) {
      const body = ex.request.body_json as PostPromptBody | undefined;
      if (ex.response.status !== 400 || !body || typeof body !== 'object' || !('prompt' in body)) {
        continue;
      }
      // Needs an uploaded file: http-post-prompt-invalid covers it.
      if (ex.name === 'invalid combo value') continue;
      // The client refuses to send a non-object prompt at all (its own argument check).
      if (Array.isArray((body as { prompt: unknown }).prompt)) continue;
      try {
        const queued = await client.queuePrompt(body);
        target().track(queued.prompt_id);
        problems.push(`${ex.name}: accepted, expected HTTP 400`);
      } catch (err) {
        if (!(err instanceof ComfyValidationError)) {
          problems.push(`${ex.name}: threw ${String(err)}, expected ComfyValidationError`);
          continue;
        }
        expect(err.status).toBe(400);
        try {
          assertShape(err.response, ex.response.body_json, ex.name);
        } catch (diff) {
          problems.push((diff as Error).message);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  itWhen(caps, { nodes: ['EmptyImage', 'ImageBlur', 'ImageScaleBy', 'SaveImage'] })(
    'interrupt(promptId) of the running prompt: queue, job and history as recorded',
    async () => {
      const { client, stream, events } = await connect(false);
      const prompt = withColor(
        recordedPrompt(exchange(queue, 'POST /prompt slow A')),
        freshColor(),
      );
      const promptId = randomUUID();
      const watch = stream.watch(promptId, { submitted: false });
      const queued = await client.queuePrompt({
        prompt,
        prompt_id: promptId,
        client_id: stream.clientId,
      });
      watch.markSubmitted();
      target().track(promptId);
      expect(queued.prompt_id).toBe(promptId);
      let interrupted = false;
      for await (const event of watch) {
        if (
          !event.unknown &&
          event.type === 'executing' &&
          event.data.node === '11' &&
          !interrupted
        ) {
          // During the second blur, as recorded: the queue, the job, then the targeted interrupt.
          const running = await client.getQueue();
          const recordedQueue = exchange(queue, 'GET /queue after clear').response.body_json;
          assertShape(running, recordedQueue, 'getQueue()', {
            extra: [
              numberLike('$.*[*][0]'),
              { path: '$.*[*][1]', kind: 'type' },
              ...PROMPT_ECHO_RULES,
            ],
          });
          const job = await client.getJob(promptId);
          assertShape(
            job,
            exchange(queue, 'GET /api/jobs/{id} of running job').response.body_json,
            'getJob()',
            {
              extra: [{ path: '$.id', kind: 'type' }, numberLike('$.priority')],
            },
          );
          await client.interrupt(promptId);
          interrupted = true;
        }
      }
      const result = await watch.result;
      // The watch ends at execution_interrupted; the server's last message comes just after.
      await waitFor(() =>
        events.some(
          (e) =>
            !e.unknown &&
            e.type === 'executing' &&
            e.data.node === null &&
            e.data.prompt_id === promptId,
        ),
      );
      expect(result.status).toBe('finished');
      if (result.status !== 'finished') return;
      expect(result.outcome).toBe('interrupted');
      const second = socket(queue, 'second socket');
      const recordedInterrupt = second.messages.find(
        (m) => m.kind === 'text' && m.json.type === 'execution_interrupted',
      );
      if (recordedInterrupt?.kind !== 'text') throw new Error('no execution_interrupted recorded');
      assertShape(result.interrupted, recordedInterrupt.json.data, 'result.interrupted');
      const history = await client.getHistoryItem(promptId);
      assertShape(
        history,
        recordedRecord(queue, 'GET /history/{A} interrupted'),
        'getHistoryItem()',
        {
          extra: RECORD_RULES,
        },
      );
    },
    60_000,
  );

  it('uploadImage and view: the recorded upload answers and the same bytes back', async () => {
    const client = new ComfyClient({ baseUrl: target().url });
    open.push(client);
    const names = fileNames(target(), ['gw_upload']);
    const problems: string[] = [];
    for (const name of [
      'upload new file',
      'upload identical bytes, same name (dedup by hash: same name returned, no new file)',
      "upload different bytes, same name, no overwrite -> renamed 'name (1).png'",
    ]) {
      const ex = exchange(uploads, name);
      const part = ex.request.body_multipart?.find((p) => 'file' in p);
      if (!part || !('file' in part)) throw new Error(`${name}: no file part recorded`);
      const result = await client.uploadImage(recordedBytes(part.file), {
        filename: names.rewrite(part.filename),
        contentType: part.content_type,
      });
      try {
        assertShape(result, mapStrings(ex.response.body_json, names.rewrite), name);
      } catch (diff) {
        problems.push((diff as Error).message);
      }
    }
    expect(problems).toEqual([]);
    const upload = exchange(uploads, 'upload new file');
    const part = upload.request.body_multipart?.[0];
    if (!part || !('file' in part)) throw new Error('no file part recorded');
    const view = await client.view({ filename: names.rewrite('gw_upload.png'), type: 'input' });
    expect(view.contentType).toBe('image/png');
    expect(view.filename).toBe(names.rewrite('gw_upload.png'));
    const chunks: Buffer[] = [];
    for await (const chunk of view.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(recordedBytes(part.file))).toBe(true);
  });

  itWhen(caps, { nodes: ['EmptyImage', 'SaveImageWebsocket'] })(
    'feature flags by default: previews arrive as type-4 frames with metadata, as recorded',
    async () => {
      // As in the recording, this SaveImageWebsocket run repeats a cached EmptyImage.
      const t = target();
      const color = freshColor();
      const siw = recordedPrompt(
        exchange(binary, 'POST /prompt SaveImageWebsocket (no feature flags)'),
      );
      const warm = await WsCapture.open(`${t.wsUrl}/ws?clientId=gw-warm-${t.runId}`);
      const warmed = await submit(t, {
        prompt: withColor(siw, color),
        client_id: `gw-warm-${t.runId}`,
      });
      await warm.waitForPromptEnd(warmed.prompt_id);
      await warm.close();

      const { stream, events } = await connect(true);
      const result = await runPrompt(
        stream,
        { prompt: withColor(siw, color) },
        { timeoutMs: 20_000 },
      );
      t.track(result.promptId);
      expect(result.outcome).toBe('success');
      expect(stream.serverFeatureFlags).toEqual(
        (
          socket(binary, 'client sends feature_flags first').messages[2] as {
            json: { data: unknown };
          }
        ).json.data,
      );
      const recorded = socket(binary, 'client sends feature_flags first').messages.filter(
        (m) => m.kind === 'marker' || m.dir !== 'client->server',
      );
      assertWsSequence(events.map(asCaptured), recorded, 'stream events');
    },
  );
});
