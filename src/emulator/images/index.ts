/**
 * The emulator's image library: ComfyUI's tensor model (IMAGE `[B,H,W,C]`, MASK `[B,H,W]`, float32
 * 0..1), PNG files written byte for byte like Pillow, and the pixel operations the nodes need.
 *
 * @example
 * import { solidImage, invert, imageToPng } from './images/index.js';
 * const png = imageToPng(invert(solidImage(8, 8, 1, 0xff0000)), 0, { compressLevel: 4 });
 */
export { BlurError, blurImage, gaussianWeights, sharpenImage } from './blur.js';
export {
  ChannelIndexError,
  imageToMask,
  invert,
  MASK_CHANNELS,
  type MaskChannel,
  maskToImage,
  solidImage,
} from './channels.js';
export { channelToMask, imageToPixels, imageToPng, pixelsToImage } from './convert.js';
export { crc32 } from './crc32.js';
export {
  type DecodedPng,
  decodePng,
  encodePng,
  isPng,
  type Pixels,
  type PngEncodeOptions,
  readPngText,
} from './png.js';
export { compositeMasked, cropImage, padForOutpaint } from './region.js';
export {
  pyRound,
  resizeImage,
  ScaleError,
  UPSCALE_METHODS,
  type UpscaleMethod,
} from './scale.js';
export {
  createImage,
  createMask,
  type ImageDims,
  imageDims,
  isTensor,
  maskDims,
  sliceBatch,
  Tensor,
} from './tensor.js';
export { formatTensor } from './tensor-repr.js';
