/**
 * Deterministic helpers for the simulated models: string hashing, a seeded PRNG, and stable fake
 * object addresses for Python-like reprs.
 */
import { createHash } from 'node:crypto';

/** A stable fake memory address for a Python object repr. */
export function address(key: string): string {
  return `0x7f${createHash('sha1').update(key).digest('hex').slice(0, 10)}`;
}

/** 32-bit FNV-1a of a string, for seeding. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
