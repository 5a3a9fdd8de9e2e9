/**
 * For a fleet (or one instance), which node inputs name model files of which folder, and which
 * folder a given value names a file in. Pure logic over `/object_info` and the `/models` lists.
 */
import {
  comboOptions,
  isModelFolder,
  KNOWN_MODEL_INPUTS,
  looksLikeFile,
  nodeInputs,
} from './model-inputs.js';
import type { NodeInfo } from './protocol.js';

/** What the index learns from an instance: its `/object_info` and its model files per folder. */
export interface ModelInputSource {
  node_classes: Readonly<Record<string, NodeInfo>>;
  models: Readonly<Record<string, readonly string[]>>;
}

/** Share of a folder's files a combo must list to be taken for a list of that folder. */
const FOLDER_COVERAGE = 0.8;

/**
 * Knows, for the whole fleet, which node inputs name model files and in which folder: the stock
 * loaders, plus every combo input (of any node, custom ones included) whose options are an
 * instance's list of some model folder.
 *
 * @example
 * const index = ModelInputIndex.fromCapabilities([gpu1.capabilities, gpu2.capabilities]);
 * index.folderFor('CheckpointLoaderSimple', 'ckpt_name', 'sdxl.safetensors'); // 'checkpoints'
 */
export class ModelInputIndex {
  private readonly inputs = new Map<string, Map<string, string[]>>();
  private readonly files = new Map<string, Set<string>>();

  /**
   * Builds the index from the capabilities of every instance of the fleet.
   *
   * @example
   * const index = ModelInputIndex.fromCapabilities(instances.map((i) => i.capabilities));
   */
  static fromCapabilities(fleet: Iterable<ModelInputSource>): ModelInputIndex {
    const index = new ModelInputIndex();
    for (const [cls, inputs] of Object.entries(KNOWN_MODEL_INPUTS)) {
      for (const [input, folder] of Object.entries(inputs)) index.add(cls, input, folder);
    }
    for (const caps of fleet) index.learn(caps);
    return index;
  }

  /**
   * The folder a constant `value` of `input` on a `classType` node names a model in, or null when
   * it names none (not a model input, or a choice such as `None` that is not a file).
   *
   * @example
   * index.folderFor('LoraLoader', 'lora_name', 'style.safetensors'); // 'loras'
   * index.folderFor('KSampler', 'sampler_name', 'euler'); // null
   */
  folderFor(classType: string, input: string, value: string): string | null {
    const folders = this.inputs.get(classType)?.get(input);
    if (folders === undefined || folders.length === 0) return null;
    for (const folder of folders) {
      if (this.files.get(folder)?.has(value)) return folder;
    }
    return looksLikeFile(value) ? (folders[0] ?? null) : null;
  }

  /**
   * Model folders an input takes files from (empty if it is not a model input).
   *
   * @example
   * index.foldersOf('UpscaleModelLoader', 'model_name'); // ['upscale_models']
   */
  foldersOf(classType: string, input: string): readonly string[] {
    return this.inputs.get(classType)?.get(input) ?? [];
  }

  private add(classType: string, input: string, folder: string): void {
    let byInput = this.inputs.get(classType);
    if (byInput === undefined) {
      byInput = new Map();
      this.inputs.set(classType, byInput);
    }
    const folders = byInput.get(input);
    if (folders === undefined) byInput.set(input, [folder]);
    else if (!folders.includes(folder)) folders.push(folder);
  }

  private learn(caps: ModelInputSource): void {
    const folders: [string, readonly string[]][] = [];
    for (const [folder, list] of Object.entries(caps.models)) {
      if (!isModelFolder(folder) || !Array.isArray(list)) continue;
      let known = this.files.get(folder);
      if (known === undefined) {
        known = new Set();
        this.files.set(folder, known);
      }
      for (const file of list) if (typeof file === 'string') known.add(file);
      if (list.length > 0) folders.push([folder, list]);
    }
    if (folders.length === 0) return;
    for (const [cls, info] of Object.entries(caps.node_classes)) {
      if (info === null || typeof info !== 'object') continue;
      for (const [input, spec] of nodeInputs(info)) {
        const options = comboOptions(spec);
        if (options === null || options.length === 0) continue;
        const set = new Set(options);
        for (const [folder, list] of folders) {
          let overlap = 0;
          for (const file of list) if (set.has(file)) overlap++;
          if (overlap >= 1 && overlap >= FOLDER_COVERAGE * list.length)
            this.add(cls, input, folder);
        }
      }
    }
  }
}
