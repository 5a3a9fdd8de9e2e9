import type { ApiPrompt } from '../comfy/protocol.js';

const MEGAPIXEL_512 = 512 * 512;
const STEP_MS = 50;
const PIXEL_PASS_MS = 150;
const NODE_MS = 20;

/**
 * A rough run time (ms at speed 1) of a prompt before anything of its shape was measured: sampler
 * steps × image area, plus a pass over the pixels per image node, plus a little per node. Only the
 * ratios between prompts matter (the estimator rescales guesses by measured shapes): a 1024² batch
 * of 4 at 30 steps comes out ~20× a 512² image at 25 steps.
 *
 * @example
 * promptWorkHint(prompt); // e.g. 1400 for SD1.5 at 512², 25 steps
 */
export function promptWorkHint(prompt: ApiPrompt): number {
  let area = 0;
  let steps = 0;
  let pixelNodes = 0;
  let nodes = 0;
  for (const node of Object.values(prompt)) {
    nodes++;
    const inputs = node?.inputs ?? {};
    const w = num(inputs.width);
    const h = num(inputs.height);
    if (w > 0 && h > 0) {
      const batch = Math.max(1, num(inputs.batch_size) || num(inputs.length) || 1);
      area = Math.max(area, (w * h * batch) / MEGAPIXEL_512);
    }
    const s = num(inputs.steps);
    if (s > 0) steps += s * Math.min(1, Math.max(0.05, num(inputs.denoise) || 1));
    if (
      Object.values(inputs).some((v) => Array.isArray(v)) &&
      /image|vae|upscale|rembg/i.test(String(node?.class_type))
    ) {
      pixelNodes++;
    }
  }
  const px = area > 0 ? area : 1;
  return Math.max(1, steps * STEP_MS * px + pixelNodes * PIXEL_PASS_MS * px + nodes * NODE_MS);
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
