/**
 * The standard scheduling workload: a heterogeneous fleet and a mixed batch of real API-format
 * prompts (txt2img at two sizes, LoRA, upscale, background removal, long batches), each with the
 * work it represents. The simulation runs it; the emulator benchmark submits the same prompts to
 * emulated instances started with the same speeds, models and node packs.
 */

import { ModelInputIndex } from '../comfy/model-input-index.js';
import type { ApiPrompt, InputSpec, NodeInfo } from '../comfy/protocol.js';
import { seededRandom } from './prng.js';
import { extractRequirements } from './requirements.js';
import type { InstanceCapabilities, JobRequirements } from './types.js';
import { modelKey } from './types.js';
import { workflowShape } from './workflow-shape.js';

/** One emulated instance of a workload. */
export interface WorkloadInstance {
  id: string;
  /** Relative speed (emulator `speed`): work ÷ speed = run time. */
  speed: number;
  max_concurrent: number;
  prefetch: number;
  /** Config priority (lower preferred). */
  priority: number;
  tags: string[];
  /** Model files per folder (emulator `models`). */
  models: Record<string, string[]>;
  /** Custom node packs installed (emulator `nodePacks`). */
  node_packs: string[];
  vram_total: number;
  /** What `/object_info` and `/models` would report. */
  capabilities: InstanceCapabilities;
}

/** One job of a workload. */
export interface WorkloadJob {
  id: string;
  owner: string;
  priority: number;
  /** ms after the start of the run. */
  submit_at: number;
  kind: string;
  prompt: ApiPrompt;
  /** Execution time at speed 1, model loading excluded (ms). */
  work_ms: number;
  requirements: JobRequirements;
  shape: string;
  /** Time on top of `work_ms` whatever the speed (overrides `Workload.job_overhead_ms`), ms. */
  overhead_ms?: number;
}

/** A fleet and a batch. */
export interface Workload {
  instances: WorkloadInstance[];
  jobs: WorkloadJob[];
  /** Time to load each model file (key `folder/file`) on first use on an instance, ms. */
  model_load_ms: Record<string, number>;
  /**
   * Time every job costs on top of its work whatever the instance's speed (output encoding,
   * HTTP round trips...), ms. Default 0; `WorkloadJob.overhead_ms` overrides it per job.
   */
  job_overhead_ms?: number;
}

/** Options of `standardWorkload`. */
export interface WorkloadOptions {
  seed?: number;
  /** Number of jobs. Default 300. */
  jobs?: number;
  /** Jobs arrive evenly over this many ms (0: all at once). Default 0. */
  arrival_window_ms?: number;
  /** Spread of each job's work around its kind's nominal value (0.1 = ±10 %). Default 0.1. */
  jitter?: number;
  /**
   * Weights of the job kinds (`sd15`, `sd15-lora`, `sdxl`, `sdxl-batch4`, `upscale`,
   * `remove-background`) replacing the standard mix's (35, 10, 25, 8, 10, 12); kinds left out
   * keep theirs, 0 drops a kind.
   */
  kind_weights?: Readonly<Record<string, number>>;
}

// Run-time model (ms at speed 1), after the emulator's node timings: a sampler step costs 50 ms
// per 512×512 image, VAE decode 120 ms per 512×512, upscaling 40 ms per 480 px tile, background
// removal 80 ms + 150 ms per megapixel, text encoding 15 ms.
const STEP_MS = 50;
const DECODE_MS = 120;
const ENCODE_TEXT_MS = 15;

const CHECKPOINT_LOAD_MS = 800;
const LORA_LOAD_MS = 150;
const UPSCALE_LOAD_MS = 200;

const SD15 = 'sd15.safetensors';
const SDXL = 'sdxl.safetensors';
const LORA = 'film-grain.safetensors';
const UPSCALER = '4x-UltraSharp.pth';
const UPSCALER_2X = 'RealESRGAN_x2plus.pth';

const CORE_NODES = [
  'CheckpointLoaderSimple',
  'LoraLoader',
  'CLIPTextEncode',
  'EmptyLatentImage',
  'KSampler',
  'VAEDecode',
  'SaveImage',
  'EmptyImage',
  'UpscaleModelLoader',
  'ImageUpscaleWithModel',
];
const PACK_NODES: Record<string, string[]> = {
  'remove-background': ['InspyrenetRembg', 'InspyrenetRembgAdvanced'],
};

interface FleetSpec {
  id: string;
  speed: number;
  priority: number;
  models: Record<string, string[]>;
  node_packs: string[];
  vram_gb: number;
}

/** Speeds 2×, 1×, 1×, 0.5×; SDXL not on the slow one; background removal on two. */
const FLEET: FleetSpec[] = [
  {
    id: 'gpu-fast',
    speed: 2,
    priority: 1,
    models: { checkpoints: [SD15, SDXL], loras: [LORA], upscale_models: [UPSCALER] },
    node_packs: ['remove-background'],
    vram_gb: 24,
  },
  {
    id: 'gpu-a',
    speed: 1,
    priority: 1,
    models: { checkpoints: [SD15, SDXL], loras: [], upscale_models: [UPSCALER, UPSCALER_2X] },
    node_packs: [],
    vram_gb: 16,
  },
  {
    id: 'gpu-b',
    speed: 1,
    priority: 2,
    models: { checkpoints: [SD15, SDXL], loras: [LORA], upscale_models: [] },
    node_packs: ['remove-background'],
    vram_gb: 12,
  },
  {
    id: 'gpu-slow',
    speed: 0.5,
    priority: 3,
    models: { checkpoints: [SD15], loras: [LORA], upscale_models: [UPSCALER] },
    node_packs: [],
    vram_gb: 8,
  },
];

interface Kind {
  name: string;
  weight: number;
  build(rand: () => number, n: number): { prompt: ApiPrompt; work: number };
}

const KINDS: Kind[] = [
  {
    name: 'sd15',
    weight: 35,
    build: (rand, n) => {
      const steps = pick(rand, [20, 25, 30]);
      return txt2img(rand, n, { ckpt: SD15, size: 512, steps, batch: 1 });
    },
  },
  {
    name: 'sd15-lora',
    weight: 10,
    build: (rand, n) =>
      txt2img(rand, n, { ckpt: SD15, size: 512, steps: 25, batch: 1, lora: LORA }),
  },
  {
    name: 'sdxl',
    weight: 25,
    build: (rand, n) => {
      const steps = pick(rand, [25, 30]);
      return txt2img(rand, n, { ckpt: SDXL, size: 1024, steps, batch: 1 });
    },
  },
  {
    name: 'sdxl-batch4',
    weight: 8,
    build: (rand, n) => txt2img(rand, n, { ckpt: SDXL, size: 1024, steps: 30, batch: 4 }),
  },
  { name: 'upscale', weight: 10, build: (rand, n) => upscale(rand, n) },
  { name: 'remove-background', weight: 12, build: (rand, n) => removeBackground(rand, n) },
];

const OWNERS: { owner: string; weight: number; priority: number }[] = [
  { owner: 'studio', weight: 80, priority: 0 },
  { owner: 'alice', weight: 15, priority: 0 },
  { owner: 'bob', weight: 5, priority: 1 },
];

/**
 * The standard workload of the scheduler simulation and benchmark: fleet speeds 2×, 1×, 1×, 0.5×
 * with different model files and node packs per instance, and a shuffled batch of `jobs` prompts
 * of six kinds (0.3 s to 28 s of work at speed 1; some runnable on only two or three instances)
 * from three owners. Deterministic for a given seed.
 *
 * @example
 * const w = standardWorkload({ seed: 1, jobs: 300 });
 * w.instances.map((i) => i.speed); // [2, 1, 1, 0.5]
 * w.jobs[0].prompt; // an API-format prompt the emulator runs
 */
export function standardWorkload(options: WorkloadOptions = {}): Workload {
  const rand = seededRandom(options.seed ?? 1);
  const count = Math.max(0, Math.floor(options.jobs ?? 300));
  const window = Math.max(0, options.arrival_window_ms ?? 0);
  const jitter = Math.min(0.9, Math.max(0, options.jitter ?? 0.1));
  const instances = FLEET.map(fleetInstance);
  const index = ModelInputIndex.fromCapabilities(instances.map((i) => i.capabilities));
  const jobs: WorkloadJob[] = [];
  const weights = options.kind_weights ?? {};
  const kinds = KINDS.map((k) => {
    const w = Object.hasOwn(weights, k.name) ? weights[k.name] : undefined;
    return w !== undefined && Number.isFinite(w) && w >= 0 ? { ...k, weight: w } : k;
  }).filter((k) => k.weight > 0);
  if (kinds.length === 0) throw new RangeError('standardWorkload: every kind weight is 0');
  const kindTotal = kinds.reduce((n, k) => n + k.weight, 0);
  const ownerTotal = OWNERS.reduce((n, o) => n + o.weight, 0);
  for (let n = 0; n < count; n++) {
    const kind = weighted(rand, kinds, kindTotal);
    const who = weighted(rand, OWNERS, ownerTotal);
    const { prompt, work } = kind.build(rand, n);
    const noise = 1 + jitter * (2 * rand() - 1);
    const req = extractRequirements(prompt, index);
    jobs.push({
      id: `job-${String(n).padStart(4, '0')}`,
      owner: who.owner,
      priority: who.priority,
      submit_at: count > 1 ? Math.round((window * n) / (count - 1)) : 0,
      kind: kind.name,
      prompt,
      work_ms: Math.round(work * noise),
      requirements: { node_classes: req.node_classes, models: req.models },
      shape: workflowShape(prompt, index),
    });
  }
  const model_load_ms: Record<string, number> = {};
  for (const inst of instances) {
    for (const [folder, files] of Object.entries(inst.models)) {
      for (const file of files) {
        model_load_ms[modelKey({ folder, file })] =
          folder === 'checkpoints'
            ? CHECKPOINT_LOAD_MS
            : folder === 'loras'
              ? LORA_LOAD_MS
              : UPSCALE_LOAD_MS;
      }
    }
  }
  return { instances, jobs, model_load_ms };
}

function fleetInstance(spec: FleetSpec): WorkloadInstance {
  const nodeNames = [...CORE_NODES, ...spec.node_packs.flatMap((p) => PACK_NODES[p] ?? [])];
  const node_classes: Record<string, NodeInfo> = {};
  for (const name of nodeNames) node_classes[name] = nodeInfo(name, spec.models);
  return {
    id: spec.id,
    speed: spec.speed,
    max_concurrent: 1,
    prefetch: 1,
    priority: spec.priority,
    tags: [],
    models: spec.models,
    node_packs: spec.node_packs,
    vram_total: spec.vram_gb * 1024 ** 3,
    capabilities: { node_classes, models: spec.models },
  };
}

/** A NodeInfo shaped as ComfyUI reports it, with model combos from the instance's lists. */
function nodeInfo(name: string, models: Record<string, string[]>): NodeInfo {
  const combo = (folder: string): InputSpec => [[...(models[folder] ?? [])]];
  const required: Record<string, InputSpec> = {};
  let output: string[] = [];
  switch (name) {
    case 'CheckpointLoaderSimple':
      required.ckpt_name = combo('checkpoints');
      output = ['MODEL', 'CLIP', 'VAE'];
      break;
    case 'LoraLoader':
      Object.assign(required, { model: ['MODEL'], clip: ['CLIP'], lora_name: combo('loras') });
      output = ['MODEL', 'CLIP'];
      break;
    case 'UpscaleModelLoader':
      required.model_name = [
        'COMBO',
        { multiselect: false, options: [...(models.upscale_models ?? [])] },
      ];
      output = ['UPSCALE_MODEL'];
      break;
    case 'InspyrenetRembg':
    case 'InspyrenetRembgAdvanced':
      Object.assign(required, { image: ['IMAGE'], torchscript_jit: [['default', 'on']] });
      output = ['IMAGE', 'MASK'];
      break;
    default:
      output = name === 'SaveImage' ? [] : ['IMAGE'];
  }
  return {
    input: { required },
    input_order: { required: Object.keys(required) },
    output,
    output_is_list: output.map(() => false),
    output_name: output,
    name,
    display_name: name,
    description: '',
    python_module: 'nodes',
    category: 'workload',
    output_node: name === 'SaveImage',
  };
}

function txt2img(
  rand: () => number,
  n: number,
  o: { ckpt: string; size: number; steps: number; batch: number; lora?: string },
): { prompt: ApiPrompt; work: number } {
  const prompt: ApiPrompt = {
    '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: o.ckpt } },
  };
  let model: [string, number] = ['1', 0];
  let clip: [string, number] = ['1', 1];
  if (o.lora !== undefined) {
    prompt['2'] = {
      class_type: 'LoraLoader',
      inputs: { model, clip, lora_name: o.lora, strength_model: 0.8, strength_clip: 0.8 },
    };
    model = ['2', 0];
    clip = ['2', 1];
  }
  Object.assign(prompt, {
    '3': {
      class_type: 'CLIPTextEncode',
      inputs: { text: `shot ${n}, a lighthouse at dusk`, clip },
    },
    '4': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip } },
    '5': {
      class_type: 'EmptyLatentImage',
      inputs: { width: o.size, height: o.size, batch_size: o.batch },
    },
    '6': {
      class_type: 'KSampler',
      inputs: {
        model,
        seed: Math.floor(rand() * 2 ** 32),
        steps: o.steps,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        positive: ['3', 0],
        negative: ['4', 0],
        latent_image: ['5', 0],
        denoise: 1,
      },
    },
    '7': { class_type: 'VAEDecode', inputs: { samples: ['6', 0], vae: ['1', 2] } },
    '8': { class_type: 'SaveImage', inputs: { images: ['7', 0], filename_prefix: `wl/${n}` } },
  });
  const px = ((o.size * o.size) / (512 * 512)) * o.batch;
  const work = 2 * ENCODE_TEXT_MS + o.steps * STEP_MS * px + DECODE_MS * px + 5;
  return { prompt, work };
}

function upscale(rand: () => number, n: number): { prompt: ApiPrompt; work: number } {
  const size = pick(rand, [768, 1024]);
  const prompt: ApiPrompt = {
    '1': { class_type: 'UpscaleModelLoader', inputs: { model_name: UPSCALER } },
    '2': {
      class_type: 'EmptyImage',
      inputs: { width: size, height: size, batch_size: 2, color: n % 0xffffff },
    },
    '3': {
      class_type: 'ImageUpscaleWithModel',
      inputs: { upscale_model: ['1', 0], image: ['2', 0] },
    },
    '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: `wl/${n}` } },
  };
  const tiles = Math.ceil(size / 480) ** 2 * 2;
  return { prompt, work: 40 * tiles + 10 };
}

function removeBackground(rand: () => number, n: number): { prompt: ApiPrompt; work: number } {
  const batch = pick(rand, [4, 8]);
  const prompt: ApiPrompt = {
    '1': {
      class_type: 'EmptyImage',
      inputs: { width: 768, height: 768, batch_size: batch, color: n % 0xffffff },
    },
    '2': { class_type: 'InspyrenetRembg', inputs: { image: ['1', 0], torchscript_jit: 'default' } },
    '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: `wl/${n}` } },
  };
  const mp = (768 * 768 * batch) / 1e6;
  return { prompt, work: 80 + 150 * mp + 10 };
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function weighted<T extends { weight: number }>(
  rand: () => number,
  items: readonly T[],
  total: number,
): T {
  let r = rand() * total;
  for (const item of items) {
    r -= item.weight;
    if (r < 0) return item;
  }
  return items[items.length - 1] as T;
}
