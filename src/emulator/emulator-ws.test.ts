import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator } from './index.js';
import type { RunningEmulator } from './options.js';
import {
  http,
  loadRecording,
  postJson,
  type RecordedMessage,
  recordedTypes,
  UPLOAD_PNG,
  upload,
  WORKFLOWS,
  type WsMessage,
  WsProbe,
} from './testing/test-kit.js';

function recordedSocket(file: string, label: string): RecordedMessage[] {
  const socket = loadRecording(file).ws?.find((w) => w.label.startsWith(label));
  if (socket === undefined) throw new Error(`no socket ${label} in ${file}`);
  return socket.messages;
}

/** Recorded types up to (and including) the n-th `executing {node: null}`. */
function recordedUntilDone(messages: RecordedMessage[], prompts: number, skip = 1): string[] {
  const out: RecordedMessage[] = [];
  let done = 0;
  for (const m of messages
    .filter((x) => x.kind !== 'marker' && x.dir !== 'client->server')
    .slice(skip)) {
    out.push(m);
    if (m.json?.type === 'executing' && m.json.data.node === null && ++done === prompts) break;
  }
  return recordedTypes(out);
}

async function submit(emu: RunningEmulator, body: Record<string, unknown>): Promise<string> {
  const res = await postJson(emu.url, '/prompt', body);
  expect(res.status, res.text).toBe(200);
  return (res.json() as { prompt_id: string }).prompt_id;
}

function text(m: WsMessage | undefined): {
  type: string;
  data: Record<string, unknown>;
  raw: string;
} {
  if (m?.kind !== 'text') throw new Error('expected a text message');
  return m;
}

describe('WebSocket sequences', () => {
  let emu: RunningEmulator;
  const probes: WsProbe[] = [];
  const open = async (options: Parameters<typeof WsProbe.open>[1] = {}) => {
    const probe = await WsProbe.open(emu.url, options);
    probes.push(probe);
    return probe;
  };

  beforeEach(async () => {
    emu = await startEmulator({ port: 0, speed: Number.POSITIVE_INFINITY });
  });
  afterEach(async () => {
    await Promise.all(probes.splice(0).map((p) => p.close()));
    await emu.close();
  });

  it('reproduces the success, fully cached and partially cached sequences', async () => {
    await upload(emu.url, 'gw_upload.png', UPLOAD_PNG);
    const ws = await open({ clientId: 'gw-success' });
    const observer = await open({ clientId: 'gw-observer' });
    const ids: string[] = [];
    for (const prompt of [
      WORKFLOWS.emptySave(16776406),
      WORKFLOWS.emptySave(16776406),
      WORKFLOWS.loadScaleInvertSave('gw_upload.png', 2.0),
      WORKFLOWS.loadScaleInvertSave('gw_upload.png', 3.0),
    ]) {
      const id = await submit(emu, { prompt, client_id: 'gw-success' });
      await ws.waitDone(id);
      ids.push(id);
    }
    const recorded = recordedSocket('ws_success_cached_partial.json', 'submitting client');
    expect(ws.types(1)).toEqual(recordedUntilDone(recorded, 4));

    const cached = ws.messages.filter((m) => m.kind === 'text' && m.type === 'execution_cached');
    expect(cached.map((m) => text(m).data.nodes)).toEqual([[], ['1', '2'], [], ['1']]);
    // Started nodes report floats, a cached output node ints (as recorded).
    const states = ws.messages.filter((m) => m.kind === 'text' && m.type === 'progress_state');
    expect(text(states[0]).raw).toContain('"value": 0.0, "max": 1.0, "state": "running"');
    const cachedRun = ws.messages.findIndex(
      (m) => m.kind === 'text' && m.type === 'execution_start' && m.data.prompt_id === ids[1],
    );
    const cachedState = text(
      ws.messages.slice(cachedRun).find((m) => m.kind === 'text' && m.type === 'progress_state'),
    );
    expect(cachedState.raw).toContain('"2": {"value": 1, "max": 1, "state": "finished"');
    // The cached run repeats the first run's filenames.
    const executed = ws.messages.filter((m) => m.kind === 'text' && m.type === 'executed');
    expect(text(executed[1]).data.output).toEqual(text(executed[0]).data.output);

    // Another client sees only the status broadcasts: 1 on connect, then 3 per prompt.
    for (let i = 0; i < 100 && observer.messages.length < 13; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(observer.types()).toEqual(Array(13).fill('status'));

    // History is written before the final status: the record exists when executing null arrives.
    const history = (await http(emu.url, 'GET', `/history/${ids[3]}`)).json() as Record<
      string,
      { status: { status_str: string; messages: [string, unknown][] }; outputs: object }
    >;
    expect(history[ids[3] as string]?.status.status_str).toBe('success');
    expect(history[ids[3] as string]?.status.messages.map((m) => m[0])).toEqual([
      'execution_start',
      'execution_cached',
      'execution_success',
    ]);
  });

  it('reports execution_error with ComfyUI data, then status and executing null', async () => {
    const ws = await open({ clientId: 'gw-error' });
    const id = await submit(emu, { prompt: WORKFLOWS.runtimeError(64726), client_id: 'gw-error' });
    await ws.waitDone(id);
    const recorded = recordedSocket('ws_execution_error.json', 'submitting client');
    expect(ws.types(1)).toEqual(recordedUntilDone(recorded, 1));
    const error = text(ws.messages.find((m) => m.kind === 'text' && m.type === 'execution_error'));
    const recordedError =
      recorded.find((m) => m.json?.type === 'execution_error')?.json?.data ?? {};
    expect(Object.keys(error.data)).toEqual(Object.keys(recordedError));
    expect(error.data).toMatchObject({
      prompt_id: id,
      node_id: '2',
      node_type: 'ImageToMask',
      executed: ['1'],
      exception_type: 'IndexError',
      current_outputs: ['1', '2', '3', '4'],
    });
    expect(error.data.exception_message).toMatch(/\n$/);
    expect(Object.keys(error.data.current_inputs as object)).toEqual(['image', 'channel']);
    const history = (await http(emu.url, 'GET', `/history/${id}`)).json() as Record<
      string,
      {
        status: { status_str: string; completed: boolean; messages: [string, unknown][] };
        outputs: object;
      }
    >;
    const record = history[id];
    expect(record?.status).toMatchObject({ status_str: 'error', completed: false });
    expect(record?.status.messages.at(-1)?.[0]).toBe('execution_error');
    expect(record?.outputs).toEqual({});
    const job = (await http(emu.url, 'GET', `/api/jobs/${id}`)).json() as Record<string, unknown>;
    expect(job.status).toBe('failed');
    expect(job.execution_error).toMatchObject({ exception_type: 'IndexError' });
  });

  it('keeps outputs produced before a failure and appends the OOM hint', async () => {
    emu.setFaults({ oomNodes: ['ImageInvert'] });
    const ws = await open({ clientId: 'oom' });
    const prompt = {
      ...WORKFLOWS.emptySave(5),
      '3': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
      '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'after' } },
    };
    const id = await submit(emu, { prompt, client_id: 'oom' });
    await ws.waitDone(id);
    const error = text(ws.messages.find((m) => m.kind === 'text' && m.type === 'execution_error'));
    expect(error.data.exception_type).toBe('torch.OutOfMemoryError');
    expect(error.data.exception_message).toContain('out of memory');
    expect(error.data.exception_message).toContain(
      'This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.',
    );
    const history = (await http(emu.url, 'GET', `/history/${id}`)).json() as Record<
      string,
      { outputs: Record<string, unknown> }
    >;
    expect(Object.keys(history[id]?.outputs ?? {})).toEqual(['2']);

    emu.setFaults({
      oomNodes: [],
      nodeErrors: { EmptyImage: { exception_type: 'ValueError', exception_message: 'boom' } },
    });
    const id2 = await submit(emu, { prompt: WORKFLOWS.emptySave(6), client_id: 'oom' });
    await ws.waitDone(id2);
    const second = ws.messages.filter((m) => m.kind === 'text' && m.type === 'execution_error');
    expect(text(second[1]).data).toMatchObject({
      exception_type: 'ValueError',
      exception_message: 'boom\n',
    });
  });

  it('sends previews as type-1 frames, or type-4 after feature_flags negotiation', async () => {
    const plain = await open({ clientId: 'bin' });
    const id = await submit(emu, { prompt: WORKFLOWS.saveImageWebsocket(), client_id: 'bin' });
    await plain.waitDone(id);
    const recordedPlain = recordedSocket(
      'ws_binary_featureflags_noclientid.json',
      'no feature_flags',
    );
    expect(plain.types(1)).toEqual(recordedUntilDone(recordedPlain, 1));
    const frame = plain.messages.find((m) => m.kind === 'binary');
    expect(frame?.kind === 'binary' && frame.data.subarray(0, 8).toString('hex')).toBe(
      '0000000100000002',
    );

    const flagged = await open({
      clientId: 'binflags',
      featureFlags: { supports_preview_metadata: true },
    });
    const reply = text(
      flagged.messages.find((m) => m.kind === 'text' && m.type === 'feature_flags'),
    );
    expect(reply.raw).toBe(
      '{"type": "feature_flags", "data": {"supports_preview_metadata": true, "max_upload_size": 104857600, "extension": {"manager": {"supports_v4": true}}}}',
    );
    const id2 = await submit(emu, {
      prompt: WORKFLOWS.saveImageWebsocket(),
      client_id: 'binflags',
    });
    await flagged.waitDone(id2);
    const recordedFlags = recordedSocket(
      'ws_binary_featureflags_noclientid.json',
      'client sends feature_flags',
    );
    expect(flagged.types(2)).toEqual(recordedUntilDone(recordedFlags, 1, 2));
    const meta = flagged.messages.find((m) => m.kind === 'binary');
    if (meta?.kind !== 'binary') throw new Error('no binary frame');
    expect(meta.data.readUInt32BE(0)).toBe(4);
    const length = meta.data.readUInt32BE(4);
    expect(length).toBe(165);
    expect(JSON.parse(meta.data.subarray(8, 8 + length).toString())).toEqual({
      node_id: '2',
      prompt_id: id2,
      display_node_id: '2',
      parent_node_id: null,
      real_node_id: '2',
      image_type: 'image/png',
    });
    expect(meta.data.subarray(8 + length, 16 + length).toString('hex')).toBe('89504e470d0a1a0a');
  });

  it('routes a prompt without client_id as recorded: only broadcasts arrive', async () => {
    const anonymous = await open();
    const sid = text(anonymous.messages[0]).data.sid;
    expect(sid).toMatch(/^[0-9a-f]{32}$/);
    const id = await submit(emu, { prompt: WORKFLOWS.emptySave(16776706) });
    await anonymous.waitFor(
      (m) =>
        m.kind === 'text' &&
        m.type === 'status' &&
        (m.data.status as { exec_info: { queue_remaining: number } }).exec_info.queue_remaining ===
          0,
      5000,
      1,
    );
    const recorded = recordedSocket(
      'ws_binary_featureflags_noclientid.json',
      'connected WITHOUT clientId',
    );
    // status ×2, progress_state ×4, status: nothing addressed to a client.
    const firstPrompt = recordedTypes(recorded.filter((m) => m.kind !== 'marker').slice(1, 8));
    expect(anonymous.types(1)).toEqual(firstPrompt);
    const id2 = await submit(emu, { prompt: WORKFLOWS.saveImageWebsocket() });
    const before = anonymous.messages.length;
    await anonymous.waitFor((m) => m.kind === 'binary', 5000, before);
    for (let i = 0; i < 100 && (await http(emu.url, 'GET', `/history/${id2}`)).text === '{}'; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(anonymous.types(before)).toContain('binary:1');
    expect(anonymous.types(before)).not.toContain('execution_start');
    expect(id).not.toBe(id2);
  });

  it('drops everything for an empty-string client_id except status broadcasts', async () => {
    const probe = await open({ clientId: 'watcher' });
    const id = await submit(emu, { prompt: WORKFLOWS.emptySave(11), client_id: '' });
    for (let i = 0; i < 200 && (await http(emu.url, 'GET', `/history/${id}`)).text === '{}'; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(new Set(probe.types())).toEqual(new Set(['status']));
  });

  it('serves /api/ws too, and POST /free {free_memory} empties the node cache', async () => {
    const ws = await open({ clientId: 'free', path: '/api/ws' });
    const first = await submit(emu, { prompt: WORKFLOWS.emptySave(77), client_id: 'free' });
    await ws.waitDone(first);
    await postJson(emu.url, '/free', { unload_models: true, free_memory: true });
    const second = await submit(emu, { prompt: WORKFLOWS.emptySave(77), client_id: 'free' });
    await ws.waitDone(second);
    const cached = ws.messages.filter((m) => m.kind === 'text' && m.type === 'execution_cached');
    expect(cached.map((m) => text(m).data.nodes)).toEqual([[], []]);
  });

  it('reproduces the same-clientId replacement bug', async () => {
    const a = await open({ clientId: 'dup' });
    const b = await open({ clientId: 'dup' });
    const id = await submit(emu, { prompt: WORKFLOWS.emptySave(16776806), client_id: 'dup' });
    await b.waitDone(id);
    const recordedB = recordedSocket('ws_same_clientid_replace.json', 'socket B');
    expect(b.types(1)).toEqual(recordedUntilDone(recordedB, 1));
    expect(a.types()).toEqual(['status']);
    await a.close();
    await new Promise((r) => setTimeout(r, 20));
    const countB = b.messages.length;
    const id2 = await submit(emu, { prompt: WORKFLOWS.emptySave(16776807), client_id: 'dup' });
    for (let i = 0; i < 200 && (await http(emu.url, 'GET', `/history/${id2}`)).text === '{}'; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 20));
    // B is still open but unregistered: it gets nothing, not even status.
    expect(b.messages.length).toBe(countB);
  });
});

describe('interrupts and reconnects', () => {
  let emu: RunningEmulator;
  const probes: WsProbe[] = [];
  beforeEach(async () => {
    emu = await startEmulator({ port: 0, speed: 1, nodeDurations: { ImageInvert: 150 } });
  });
  afterEach(async () => {
    await Promise.all(probes.splice(0).map((p) => p.close()));
    await emu.close();
  });

  it('interrupts at the next node, by prompt_id only when running, and resets the flag', async () => {
    const ws = await WsProbe.open(emu.url, { clientId: 'q' });
    probes.push(ws);
    // An interrupt while idle has no effect on the next prompt.
    await http(emu.url, 'POST', '/interrupt', { body: '' });
    const a = await submit(emu, { prompt: WORKFLOWS.chain(1), client_id: 'q' });
    const b = await submit(emu, { prompt: WORKFLOWS.chain(2), client_id: 'q' });
    await ws.waitFor(
      (m) =>
        m.kind === 'text' &&
        m.type === 'executing' &&
        m.data.node === '10' &&
        m.data.prompt_id === a,
    );
    // B is pending: ignored.
    await postJson(emu.url, '/interrupt', { prompt_id: b });
    await new Promise((r) => setTimeout(r, 30));
    await postJson(emu.url, '/interrupt', { prompt_id: a });
    await ws.waitDone(a);
    const start = ws.messages.findIndex(
      (m) => m.kind === 'text' && m.type === 'execution_start' && m.data.prompt_id === a,
    );
    const done = ws.messages.findIndex(
      (m) =>
        m.kind === 'text' &&
        m.type === 'executing' &&
        m.data.node === null &&
        m.data.prompt_id === a,
    );
    const types = ws.types(start).slice(0, done - start + 1);
    // The running node finishes; the next one starts and is interrupted (as recorded).
    expect(types.slice(-6)).toEqual([
      'progress_state',
      'progress_state',
      'executing',
      'execution_interrupted',
      'status',
      'executing',
    ]);
    const interrupted = text(
      ws.messages.find((m) => m.kind === 'text' && m.type === 'execution_interrupted'),
    );
    expect(interrupted.data).toMatchObject({
      prompt_id: a,
      node_id: '11',
      node_type: 'ImageInvert',
      executed: ['10', '1'],
    });
    expect(Object.keys(interrupted.data)).toEqual([
      'prompt_id',
      'node_id',
      'node_type',
      'executed',
      'timestamp',
    ]);
    // B then runs to the end: the flag was reset when it started.
    await ws.waitDone(b, 10_000);
    const historyB = (await http(emu.url, 'GET', `/history/${b}`)).json() as Record<
      string,
      { status: { status_str: string } }
    >;
    expect(historyB[b]?.status.status_str).toBe('success');
    const historyA = (await http(emu.url, 'GET', `/history/${a}`)).json() as Record<
      string,
      { status: { status_str: string; completed: boolean } }
    >;
    expect(historyA[a]?.status).toMatchObject({ status_str: 'error', completed: false });
    expect(
      ((await http(emu.url, 'GET', `/api/jobs/${a}`)).json() as { status: string }).status,
    ).toBe('failed');
  });

  it('broadcasts execution_interrupted when the prompt has no client_id; cancel dequeues pending jobs', async () => {
    const ws = await WsProbe.open(emu.url);
    probes.push(ws);
    const a = await submit(emu, { prompt: WORKFLOWS.chain(3) });
    const b = await submit(emu, { prompt: WORKFLOWS.chain(4) });
    await ws.waitFor(
      (m) => m.kind === 'text' && m.type === 'progress_state' && m.data.prompt_id === a,
    );
    expect((await postJson(emu.url, `/api/jobs/${b}/cancel`, {})).json()).toEqual({
      cancelled: true,
    });
    expect((await postJson(emu.url, `/api/jobs/${a}/cancel`, {})).json()).toEqual({
      cancelled: true,
    });
    const interrupted = text(
      await ws.waitFor((m) => m.kind === 'text' && m.type === 'execution_interrupted'),
    );
    expect(interrupted.data.prompt_id).toBe(a);
    expect((await http(emu.url, 'GET', `/history/${b}`)).text).toBe('{}');
  });

  it('sends executing {node} without prompt_id to a reconnecting client of the running prompt', async () => {
    const first = await WsProbe.open(emu.url, { clientId: 'rc' });
    probes.push(first);
    const id = await submit(emu, { prompt: WORKFLOWS.chain(5), client_id: 'rc' });
    await first.waitFor((m) => m.kind === 'text' && m.type === 'executing' && m.data.node === '10');
    await first.close();
    const second = await WsProbe.open(emu.url, { clientId: 'rc' });
    probes.push(second);
    const executing = text(
      await second.waitFor((m) => m.kind === 'text' && m.type === 'executing'),
    );
    expect(Object.keys(executing.data)).toEqual(['node']);
    expect(['10', '11', '12']).toContain(executing.data.node);
    await second.waitDone(id, 10_000);
  });
});
