/**
 * Node sets: the core nodes every instance has, and optional custom node packs an instance may
 * have installed (`EmulatorOptions.nodePacks`). A pack is a name and a factory for its classes;
 * add new ones to `NODE_PACKS`.
 */

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
import type { NodeSetContext } from './node-set.js';
import type { EmulatedNodeDefinition } from './node-spec.js';

/** A set of node classes that can be installed together. */
export interface NodePack {
  /** Name used in `nodePacks` (e.g. "remove-background"). */
  name: string;
  /** The custom_nodes folder it would live in on a real server. */
  folder: string;
  description: string;
  create(shared: NodeSetContext): EmulatedNodeDefinition[];
}

/** The classes every emulated instance has (ComfyUI core plus the bundled websocket example). */
export function coreNodes(shared: NodeSetContext): EmulatedNodeDefinition[] {
  return [
    saveImageNode(shared),
    previewImageNode(shared),
    loadImageNode(),
    loadImageMaskNode(),
    imageScaleNode(),
    imageScaleByNode(),
    imageInvertNode(),
    imagePadForOutpaintNode(),
    emptyImageNode(),
    imageBlurNode(),
    imageSharpenNode(),
    imageCropNode(),
    imageToMaskNode(),
    maskToImageNode(),
    invertMaskNode(),
    imageCompositeMaskedNode(),
    saveImageWebsocketNode(),
  ];
}

/** Optional packs by name. */
export const NODE_PACKS: Readonly<Record<string, NodePack>> = {};

/** Names of the optional packs. */
export function knownPacks(): string[] {
  return Object.keys(NODE_PACKS);
}
