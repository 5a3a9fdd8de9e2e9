/**
 * The prompt worker: one prompt at a time, nodes in ComfyUI's order, the global output cache, the
 * WebSocket events in ComfyUI's order and routing, and the history record written before the
 * final `status` broadcast and `executing {node: null}`.
 */
import type {
  HistoryMessage,
  HistoryNodeMeta,
  JsonObject,
  JsonValue,
  NodeOutput,
} from '../comfy/protocol.js';
import type { StatsCounter } from './emulator-stats.js';
import { ExecutionList, isLink } from './execution-list.js';
import type { FaultState } from './fault-state.js';
import { type CacheEntry, computeCacheKeys, NodeCache } from './node-cache.js';
import {
  InterruptedError,
  type NodeContext,
  type NodeDefinition,
  type NodeEnvironment,
  NodeExecutionError,
  type NodeRegistry,
  type NodeResult,
} from './nodes/types.js';
import { ProgressTracker } from './progress-tracker.js';
import type { PromptQueue, QueueEntry } from './prompt-queue.js';
import { pyJson, pyString } from './py-json.js';
import type { Sid, WsHub } from './ws-hub.js';

/** What the executor needs to know about a node class (computed once per class). */
export interface ClassFacts {
  isOutput: boolean;
}

export interface ExecutorDeps {
  queue: PromptQueue;
  hub: WsHub;
  registry: NodeRegistry;
  env: () => NodeEnvironment;
  speed: () => number;
  nodeDurations: () => Record<string, number>;
  faults: FaultState;
  stats: StatsCounter;
  classFacts: (classType: string) => ClassFacts | undefined;
  /** Server-wide --preview-method (a prompt's extra_data.preview_method overrides it). */
  previewMethod: string;
}

const OOM_TIPS =
  'This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.';

const OOM_MESSAGE =
  'CUDA out of memory. Tried to allocate 3.00 GiB. GPU 0 has a total capacity of 23.99 GiB of which 1.21 GiB is free. Including non-PyTorch memory, this process has 22.77 GiB memory in use.';

interface Failure {
  interrupted: boolean;
  nodeId: string;
  exceptionType: string;
  exceptionMessage: string;
  currentInputs: JsonObject;
}

/** Runs the state of one prompt through its nodes. */
interface PromptRun {
  entry: QueueEntry;
  sid: Sid;
  progress: ProgressTracker;
  keys: Map<string, string>;
  outputs: Map<string, unknown[]>;
  ui: Map<string, { meta: HistoryNodeMeta; output: NodeOutput }>;
  executed: string[];
  messages: HistoryMessage[];
  extraData: JsonObject;
}

/**
 * @example
 * const executor = new Executor(deps);
 * executor.start();
 * executor.interrupt();
 * await executor.stop();
 */
export class Executor {
  readonly cache = new NodeCache();
  private interrupted = false;
  private closed = false;
  private loop: Promise<void> | undefined;
  private wakeSleeper: (() => void) | undefined;
  private current: PromptRun | undefined;

  constructor(private readonly deps: ExecutorDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.interrupt();
    this.deps.queue.wake();
    await this.loop;
  }

  /** ComfyUI's interrupt_processing(): takes effect at the next node or ctx check. */
  interrupt(): void {
    this.interrupted = true;
    const wake = this.wakeSleeper;
    this.wakeSleeper = undefined;
    wake?.();
  }

  runningPromptId(): string | undefined {
    return this.current?.entry.promptId;
  }

  private async run(): Promise<void> {
    const { queue } = this.deps;
    while (!this.closed) {
      const next = queue.take();
      if (next !== undefined) {
        let turned = false;
        const ticker = setImmediate(() => {
          turned = true;
        });
        await this.execute(next.entry, next.taskId);
        // Let HTTP and WebSocket traffic in between prompts when the nodes never waited for I/O
        // (instant nodes would otherwise hold the event loop for the whole queue).
        if (!turned) await new Promise<void>((resolve) => setImmediate(resolve));
        clearImmediate(ticker);
      }
      const flags = queue.takeFlags();
      if (flags.free_memory === true) this.cache.clear();
      if (next === undefined && !this.closed) await queue.waitForWork();
    }
  }

  private async execute(entry: QueueEntry, taskId: number): Promise<void> {
    const { hub, queue, stats } = this.deps;
    this.interrupted = false;
    const promptId = entry.promptId;
    const sid: Sid = 'client_id' in entry.extraData ? entry.extraData.client_id : null;
    hub.clientId = sid;
    const run: PromptRun = {
      entry,
      sid,
      progress: new ProgressTracker(promptId, hub, sid),
      keys: new Map(),
      outputs: new Map(),
      ui: new Map(),
      executed: [],
      messages: [],
      extraData: { ...entry.extraData, ...entry.sensitive },
    };
    this.current = run;
    const pid = pyString(promptId);
    this.addMessage(
      run,
      'execution_start',
      { prompt_id: promptId, timestamp: 0 },
      false,
      `{"prompt_id": ${pid}`,
    );

    const prompt = entry.prompt;
    const env = this.deps.env();
    run.keys = computeCacheKeys(prompt, this.deps.registry, env);
    this.cache.setPrompt(new Set(run.keys.values()));
    const cachedNodes: string[] = [];
    for (const id in prompt)
      if (this.cache.get(run.keys.get(id)) !== undefined) cachedNodes.push(id);
    this.addMessage(
      run,
      'execution_cached',
      { nodes: cachedNodes, prompt_id: promptId, timestamp: 0 },
      false,
      `{"nodes": ${pyJson(cachedNodes)}, "prompt_id": ${pid}`,
    );

    const list = new ExecutionList(
      prompt,
      (id) => this.cache.get(run.keys.get(id)) !== undefined,
      (id) => this.deps.classFacts(prompt[id]?.class_type ?? '')?.isOutput === true,
    );
    for (const output of entry.outputs) list.addNode(output);

    let failure: Failure | undefined;
    while (!list.isEmpty()) {
      const nodeId = list.stage();
      if (nodeId === undefined) {
        failure = {
          interrupted: false,
          nodeId: list.pendingNodes()[0] ?? '',
          exceptionType: 'graph.DependencyCycleError',
          exceptionMessage: 'Dependency cycle detected',
          currentInputs: {},
        };
        break;
      }
      failure = await this.executeNode(run, nodeId, env);
      if (failure !== undefined) break;
      list.complete(nodeId);
    }
    run.progress.flush();

    if (failure === undefined) {
      this.addMessage(
        run,
        'execution_success',
        { prompt_id: promptId, timestamp: 0 },
        false,
        `{"prompt_id": ${pid}`,
      );
    } else {
      this.reportFailure(run, failure);
    }
    hub.lastNodeId = null;
    this.current = undefined;

    const outputs: Record<string, NodeOutput> = {};
    const meta: Record<string, HistoryNodeMeta> = {};
    for (const [id, info] of run.ui) {
      outputs[id] = info.output;
      meta[id] = info.meta;
    }
    const success = failure === undefined;
    queue.taskDone(
      taskId,
      { outputs, meta },
      { status_str: success ? 'success' : 'error', completed: success, messages: run.messages },
    );
    if (sid !== null) hub.sendJson('executing', `{"node": null, "prompt_id": ${pid}}`, sid);
    if (success) stats.prompts.succeeded++;
    else if (failure?.interrupted === true) stats.prompts.interrupted++;
    else stats.prompts.failed++;
  }

  private async executeNode(
    run: PromptRun,
    nodeId: string,
    env: NodeEnvironment,
  ): Promise<Failure | undefined> {
    const { hub } = this.deps;
    const promptId = run.entry.promptId;
    const node = run.entry.prompt[nodeId];
    const classType = node?.class_type ?? '';
    const key = run.keys.get(nodeId);
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      if (run.sid !== null) {
        hub.sendJson(
          'executed',
          `{"node": ${pyString(nodeId)}, "display_node": ${pyString(nodeId)}, "output": ${pyJson(cached.ui?.output ?? null)}, "prompt_id": ${pyString(promptId)}}`,
          run.sid,
        );
      }
      if (cached.ui !== null) run.ui.set(nodeId, cached.ui);
      run.progress.finish(nodeId);
      run.outputs.set(nodeId, cached.outputs);
      return undefined;
    }

    run.progress.start(nodeId);
    const inputs: Record<string, unknown> = {};
    const nodeInputs = node?.inputs ?? {};
    for (const name in nodeInputs) {
      const value = nodeInputs[name] as JsonValue;
      if (isLink(value)) {
        const source = run.outputs.get(value[0]) ?? this.cache.get(run.keys.get(value[0]))?.outputs;
        if (source !== undefined) inputs[name] = source[value[1]];
      } else {
        inputs[name] = value;
      }
    }
    if (run.sid !== null) {
      hub.lastNodeId = nodeId;
      hub.sendJson(
        'executing',
        `{"node": ${pyString(nodeId)}, "display_node": ${pyString(nodeId)}, "prompt_id": ${pyString(promptId)}}`,
        run.sid,
      );
    }

    let result: NodeResult;
    try {
      if (this.interrupted) throw new InterruptedError();
      const definition = this.deps.registry.get(classType);
      if (definition === undefined || node === undefined) {
        throw new NodeExecutionError('KeyError', `'${classType}'`);
      }
      const faults = this.deps.faults.current;
      if (faults.oomNodes?.includes(classType) === true) {
        throw new NodeExecutionError('torch.OutOfMemoryError', OOM_MESSAGE);
      }
      const nodeError = faults.nodeErrors?.[classType];
      if (nodeError !== undefined) {
        throw new NodeExecutionError(nodeError.exception_type, nodeError.exception_message);
      }
      const timing = this.timing(definition, classType, inputs);
      result = await definition.run(inputs, this.context(run, nodeId, env, timing.factor));
      run.progress.flush();
      if (timing.lumpMs !== undefined) await this.simulate(timing.lumpMs);
      if (result === null || typeof result !== 'object' || !Array.isArray(result.outputs)) {
        throw new NodeExecutionError('TypeError', `node ${classType} returned no outputs`);
      }
    } catch (err) {
      run.progress.flush();
      return this.failureFrom(err, nodeId, inputs);
    }

    const ui = result.ui;
    let entryUi: CacheEntry['ui'] = null;
    if (ui !== undefined && ui !== null && Object.keys(ui).length > 0) {
      entryUi = {
        meta: { node_id: nodeId, display_node: nodeId, parent_node: null, real_node_id: nodeId },
        output: ui,
      };
      run.ui.set(nodeId, entryUi);
      if (run.sid !== null) {
        hub.sendJson(
          'executed',
          `{"node": ${pyString(nodeId)}, "display_node": ${pyString(nodeId)}, "output": ${pyJson(ui)}, "prompt_id": ${pyString(promptId)}}`,
          run.sid,
        );
      }
    }
    run.outputs.set(nodeId, result.outputs);
    this.cache.set(key, { ui: entryUi, outputs: result.outputs });
    run.progress.finish(nodeId);
    run.executed.push(nodeId);
    return undefined;
  }

  /**
   * A per-class duration override scales every ctx.work() of the node by override / nominal
   * duration (NodeDefinition.nominalMs of the emulated node set); a node without a nominal
   * duration waits the override once, after it ran.
   */
  private timing(
    definition: NodeDefinition,
    classType: string,
    inputs: Record<string, unknown>,
  ): { factor: number; lumpMs?: number } {
    const override = this.deps.nodeDurations()[classType];
    if (override === undefined) return { factor: 1 };
    const nominalMs = (definition as { nominalMs?: (i: Record<string, unknown>) => number })
      .nominalMs;
    const nominal = nominalMs === undefined ? 0 : nominalMs(inputs);
    if (nominal > 0) return { factor: override / nominal };
    return { factor: 1, lumpMs: override };
  }

  private context(
    run: PromptRun,
    nodeId: string,
    env: NodeEnvironment,
    factor: number,
  ): NodeContext & { previewMethod: string } {
    const extraPreview = run.extraData.preview_method;
    const checkInterrupt = (): void => {
      if (this.interrupted) throw new InterruptedError();
    };
    return {
      dirs: env.dirs,
      models: env.models,
      promptId: run.entry.promptId,
      nodeId,
      prompt: run.entry.prompt,
      extraData: run.extraData,
      previewMethod:
        typeof extraPreview === 'string' && extraPreview !== 'default'
          ? extraPreview
          : this.deps.previewMethod,
      progress: (value, max) => {
        checkInterrupt();
        run.progress.update(nodeId, value, max);
      },
      checkInterrupt,
      work: async (ms) => {
        run.progress.flush();
        await this.simulate(ms * factor);
      },
      sendPreview: (image, mime) => run.progress.preview(nodeId, image, mime),
    };
  }

  /** Waits `ms / speed`, waking early (and throwing) on an interrupt. */
  private async simulate(ms: number): Promise<void> {
    if (this.interrupted) throw new InterruptedError();
    const wait = ms / this.deps.speed();
    if (!(wait > 0) || !Number.isFinite(wait)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeSleeper = undefined;
        resolve();
      }, wait);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    if (this.interrupted) throw new InterruptedError();
  }

  private failureFrom(err: unknown, nodeId: string, inputs: Record<string, unknown>): Failure {
    if (err instanceof InterruptedError) {
      return {
        interrupted: true,
        nodeId,
        exceptionType: '',
        exceptionMessage: '',
        currentInputs: {},
      };
    }
    let exceptionType = 'Exception';
    let message = String(err);
    if (err instanceof NodeExecutionError) {
      exceptionType = err.exceptionType;
      message = err.message;
    } else if (err instanceof Error) {
      exceptionType = err.name === 'Error' ? 'Exception' : err.name;
      message = err.message;
    }
    const tips = exceptionType.includes('OutOfMemoryError') ? OOM_TIPS : '';
    const currentInputs: JsonObject = {};
    for (const name in inputs) currentInputs[name] = [formatValue(inputs[name])];
    return {
      interrupted: false,
      nodeId,
      exceptionType,
      exceptionMessage: `${message}\n${tips}`,
      currentInputs,
    };
  }

  private reportFailure(run: PromptRun, failure: Failure): void {
    const promptId = run.entry.promptId;
    const nodeType = run.entry.prompt[failure.nodeId]?.class_type ?? '';
    // Python lists a set here; its order is arbitrary — most recent first reads naturally.
    const executed = [...run.executed].reverse();
    if (failure.interrupted) {
      this.addMessage(
        run,
        'execution_interrupted',
        {
          prompt_id: promptId,
          node_id: failure.nodeId,
          node_type: nodeType,
          executed,
          timestamp: 0,
        },
        true,
      );
      return;
    }
    this.addMessage(
      run,
      'execution_error',
      {
        prompt_id: promptId,
        node_id: failure.nodeId,
        node_type: nodeType,
        executed,
        exception_message: failure.exceptionMessage,
        exception_type: failure.exceptionType,
        traceback: traceback(nodeType, failure.exceptionType),
        current_inputs: failure.currentInputs,
        current_outputs: Object.keys(run.entry.prompt),
        timestamp: 0,
      },
      false,
    );
  }

  /**
   * ComfyUI's add_message: stored for history; sent to the prompt's client, or to everyone when
   * `broadcast` and the prompt has no client. `head` is the data's JSON up to (not including)
   * the timestamp and closing brace, for the hot messages.
   */
  private addMessage(
    run: PromptRun,
    event: string,
    data: JsonObject,
    broadcast: boolean,
    head?: string,
  ): void {
    // `data` is always a fresh literal ending in a `timestamp` placeholder, so the timestamp goes
    // last, as in ComfyUI, and the object keeps its in-object property slots.
    const timestamp = Date.now();
    data.timestamp = timestamp;
    run.messages.push([event, data]);
    if (run.sid === null && !broadcast) return;
    const json = head === undefined ? pyJson(data) : `${head}, "timestamp": ${timestamp}}`;
    this.deps.hub.sendJson(event, json, run.sid);
  }
}

function traceback(nodeType: string, exceptionType: string): string[] {
  return [
    '  File "/comfyui/execution.py", line 518, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all)\n',
    `  File "/comfyui/emulated_nodes.py", line 1, in ${nodeType}\n    raise ${exceptionType.split('.').pop() ?? 'Exception'}(...)\n`,
  ];
}

/** ComfyUI's format_value: primitives as they are, anything else as its text. */
function formatValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  if (typeof value === 'object') {
    const text = String(value);
    if (text !== '[object Object]') return text;
    const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    return `<${name}>`;
  }
  return String(value);
}
