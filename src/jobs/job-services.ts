import path from 'node:path';
import type { Kysely } from 'kysely';
import { defaultDataDir } from '../store/index.js';
import type { Database } from '../store/schema.js';
import { InputRepository } from './input-repository.js';
import { InputStore } from './input-store.js';
import { JobRepository } from './job-repository.js';
import { OutputStore } from './output-store.js';
import { TemplateRepository } from './template-repository.js';

/** The jobs layer wired to one store and one data dir. */
export interface JobServices {
  jobs: JobRepository;
  inputs: InputRepository;
  templates: TemplateRepository;
  /** `<data dir>/inputs` */
  inputStore: InputStore;
  /** `<data dir>/outputs` */
  outputStore: OutputStore;
}

export interface JobServicesOptions {
  /** Default: the platform data dir (`COMFY_CLUSTER_DATA_DIR` moves it). */
  dataDir?: string;
  maxInputBytes?: number;
  maxOutputBytes?: number;
  /** Clock for the repositories (tests). */
  now?: () => number;
}

/**
 * Builds the repositories and file stores of the jobs layer over an open store.
 *
 * @example
 * const store = await openStore({ kind: 'sqlite' });
 * const { jobs, inputs, templates, inputStore, outputStore } = createJobServices(store, { dataDir });
 */
export function createJobServices(
  store: { db: Kysely<Database> },
  options: JobServicesOptions = {},
): JobServices {
  const dataDir = options.dataDir ?? defaultDataDir();
  const clock = options.now ? { now: options.now } : {};
  return {
    jobs: new JobRepository(store.db, clock),
    inputs: new InputRepository(store.db, clock),
    templates: new TemplateRepository(store.db, clock),
    inputStore: new InputStore(
      path.join(dataDir, 'inputs'),
      options.maxInputBytes !== undefined ? { maxBytes: options.maxInputBytes } : {},
    ),
    outputStore: new OutputStore(
      path.join(dataDir, 'outputs'),
      options.maxOutputBytes !== undefined ? { maxBytes: options.maxOutputBytes } : {},
    ),
  };
}
