/**
 * Audio nodes (comfy_extras.nodes_audio, schema nodes): EmptyAudio makes silence, SaveAudio writes
 * it as a FLAC file into the output directory (`audio/ComfyUI_00001_.flac` by default) and reports
 * it under the `audio` UI key, a file output that is not an image.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JsonValue } from '../../../comfy/protocol.js';
import { NodeInputs } from '../inputs.js';
import { type NodeSetContext, pngMetadata } from '../node-set.js';
import { defineNode, type EmulatedNodeDefinition } from '../node-spec.js';
import { finishWork } from '../timing.js';
import { Audio } from './audio.js';
import { encodeFlac } from './flac.js';

const MODULE = 'comfy_extras.nodes_audio';
/** One hour: longer silence is refused rather than allocated. */
const MAX_SECONDS = 3600;

/** ComfyUI's EmptyAudio. */
export function emptyAudioNode(): EmulatedNodeDefinition {
  return defineNode({
    name: 'EmptyAudio',
    style: 'v3',
    displayName: 'Empty Audio',
    category: 'audio',
    pythonModule: MODULE,
    required: [
      ['duration', ['FLOAT', { default: 60.0, min: 0.0, max: MAX_SECONDS, step: 0.01 }]],
      ['sample_rate', ['INT', { default: 44100, min: 1, max: 192000 }]],
      ['channels', ['INT', { default: 2, min: 1, max: 2 }]],
    ],
    outputs: ['AUDIO'],
    nominalMs: () => 1,
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'EmptyAudio.execute');
      const rate = inputs.int('sample_rate');
      const length = Math.trunc(inputs.float('duration') * rate);
      await finishWork(ctx, 1);
      return { outputs: [new Audio(inputs.int('channels'), rate, length)] };
    },
  });
}

/** ComfyUI's SaveAudio ("Save Audio (FLAC)"). */
export function saveAudioNode(shared: NodeSetContext): EmulatedNodeDefinition {
  return defineNode({
    name: 'SaveAudio',
    style: 'v3',
    displayName: 'Save Audio (FLAC)',
    category: 'audio',
    pythonModule: MODULE,
    outputNode: true,
    required: [
      ['audio', ['AUDIO', {}]],
      ['filename_prefix', ['STRING', { default: 'audio/ComfyUI' }]],
    ],
    hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
    outputs: [],
    nominalMs: () => 10,
    async run(values, ctx) {
      const inputs = new NodeInputs(values, 'SaveAudio.execute');
      const audio = inputs.object('audio', Audio, 'waveform');
      const prefix = inputs.string('filename_prefix', 'ComfyUI');
      const target = shared.savePaths.allocate(ctx.dirs.output, prefix, 0, 0, 1, 'flac');
      const comments = Object.fromEntries(pngMetadata(ctx, shared));
      const channels = Array.from({ length: audio.channels }, (_, c) => audio.samples?.[c] ?? null);
      const flac = encodeFlac(
        { sampleRate: audio.sampleRate, channels, length: audio.length },
        comments,
      );
      const file = `${target.filename.replaceAll('%batch_num%', '0')}_${String(target.counter).padStart(5, '0')}_.flac`;
      await writeFile(path.join(target.folder, file), flac);
      await finishWork(ctx, 10);
      const entry: JsonValue = { filename: file, subfolder: target.subfolder, type: 'output' };
      return { outputs: [], ui: { audio: [entry] } };
    },
  });
}
