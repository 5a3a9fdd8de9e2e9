/**
 * Node sets: the core nodes every instance has, and optional custom node packs an instance may
 * have installed (`EmulatorOptions.nodePacks`). A pack is a name and a factory for its classes;
 * to add one, write its nodes under packs/ and list it in `NODE_PACKS`.
 */
import { emptyAudioNode, saveAudioNode } from './audio/audio-nodes.js';
import {
  emptyImageNode,
  imageCropNode,
  imageInvertNode,
  imagePadForOutpaintNode,
  imageScaleByNode,
  imageScaleNode,
} from './core/image-basic.js';
import { loadImageMaskNode, loadImageNode } from './core/load-image.js';
import {
  imageCompositeMaskedNode,
  imageToMaskNode,
  invertMaskNode,
  maskToImageNode,
} from './core/mask.js';
import { imageBlurNode, imageSharpenNode } from './core/post-processing.js';
import { previewImageNode, saveImageNode, saveImageWebsocketNode } from './core/save-image.js';
import { previewAnyNode, primitiveStringNode } from './core/utility.js';
import {
  checkpointLoaderSimpleNode,
  loraLoaderNode,
  upscaleModelLoaderNode,
  vaeLoaderNode,
} from './model/loaders.js';
import {
  clipTextEncodeNode,
  emptyLatentImageNode,
  kSamplerNode,
  vaeDecodeNode,
  vaeEncodeNode,
} from './model/sampling.js';
import { imageUpscaleWithModelNode } from './model/upscale-with-model.js';
import type { NodeSetContext } from './node-set.js';
import type { EmulatedNodeDefinition } from './node-spec.js';
import { removeBackgroundPack } from './packs/remove-background.js';

/** A set of node classes that can be installed together. */
export interface NodePack {
  /** Name used in `nodePacks` (e.g. "remove-background"). */
  name: string;
  /** The custom_nodes folder it would live in on a real server. */
  folder: string;
  description: string;
  create(shared: NodeSetContext): EmulatedNodeDefinition[];
}

/**
 * The classes every emulated instance has: ComfyUI core (nodes.py order first, then
 * comfy_extras) plus the websocket example that ships in custom_nodes.
 */
export function coreNodes(shared: NodeSetContext): EmulatedNodeDefinition[] {
  return [
    kSamplerNode(),
    checkpointLoaderSimpleNode(),
    clipTextEncodeNode(),
    vaeDecodeNode(),
    vaeEncodeNode(),
    vaeLoaderNode(),
    emptyLatentImageNode(),
    saveImageNode(shared),
    previewImageNode(shared),
    loadImageNode(),
    loadImageMaskNode(),
    imageScaleNode(),
    imageScaleByNode(),
    imageInvertNode(),
    imagePadForOutpaintNode(),
    emptyImageNode(),
    loraLoaderNode(),
    imageBlurNode(),
    imageSharpenNode(),
    imageCropNode(),
    imageToMaskNode(),
    maskToImageNode(),
    invertMaskNode(),
    imageCompositeMaskedNode(),
    upscaleModelLoaderNode(),
    imageUpscaleWithModelNode(),
    emptyAudioNode(),
    saveAudioNode(shared),
    previewAnyNode(),
    primitiveStringNode(),
    saveImageWebsocketNode(),
  ];
}

/** Optional packs by name. */
export const NODE_PACKS: Readonly<Record<string, NodePack>> = {
  [removeBackgroundPack.name]: removeBackgroundPack,
};

/** Names of the optional packs. */
export function knownPacks(): string[] {
  return Object.keys(NODE_PACKS);
}
