/**
 * Wire types of the ComfyUI HTTP and WebSocket protocol, as a stock server speaks it
 * (see shared/comfyui-api.md and the recorded transcripts). Shared by the client and the emulator.
 *
 * JSON keys stay exactly as ComfyUI sends them (snake_case, and the odd camelCase such as `nodeId`).
 */

/** Any JSON value. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------------
// Prompts (API format)
// ---------------------------------------------------------------------------------------------

/** A link to another node's output: `[source node id, output index]`. */
export type NodeLink = [string, number];

/** One node of an API-format workflow. */
export interface PromptNode {
  class_type: string;
  inputs: Record<string, JsonValue>;
  _meta?: { title?: string; [key: string]: JsonValue | undefined };
}

/** An API-format workflow: node id → node. */
export type ApiPrompt = Record<string, PromptNode>;

/** Body of POST /prompt. */
export interface PostPromptBody {
  prompt: ApiPrompt;
  client_id?: string;
  prompt_id?: string;
  number?: number;
  front?: boolean;
  extra_data?: JsonObject;
  partial_execution_targets?: string[];
}

/** 200 answer of POST /prompt. `node_errors` may be non-empty when only some outputs failed. */
export interface PostPromptResponse {
  prompt_id: string;
  number: number;
  node_errors: NodeErrors;
}

/** One validation error, as ComfyUI reports it (top level or per node). */
export interface ValidationError {
  type: string;
  message: string;
  details: string;
  extra_info: JsonObject;
}

export interface NodeErrorEntry {
  errors: ValidationError[];
  dependent_outputs: string[];
  class_type: string;
}

export type NodeErrors = Record<string, NodeErrorEntry>;

/** 400 answer of POST /prompt. */
export interface PromptErrorResponse {
  error: ValidationError;
  node_errors: NodeErrors;
}

/** GET /prompt. */
export interface PromptInfo {
  exec_info: { queue_remaining: number };
}

// ---------------------------------------------------------------------------------------------
// Queue and history
// ---------------------------------------------------------------------------------------------

/** `[number, prompt_id, prompt, extra_data, outputs_to_execute]`. */
export type QueueItem = [number, string, ApiPrompt, JsonObject, string[]];

export interface QueueState {
  queue_running: QueueItem[];
  /** Raw heap order, not execution order: sort by number, then prompt_id. */
  queue_pending: QueueItem[];
}

export interface PostQueueBody {
  clear?: boolean;
  delete?: string[];
}

/** A file an output node produced (`images`, `audio`, `gifs`, ...). */
export interface OutputFile {
  filename: string;
  subfolder: string;
  type: 'output' | 'temp' | 'input';
  [key: string]: JsonValue;
}

/** UI data of one output node: key → list (file entries, text strings, flags). */
export type NodeOutput = Record<string, JsonValue[]>;

export type HistoryMessage = [string, JsonObject];

export interface HistoryStatus {
  status_str: 'success' | 'error';
  completed: boolean;
  messages: HistoryMessage[];
}

export interface HistoryNodeMeta {
  node_id: string;
  display_node: string;
  parent_node: string | null;
  real_node_id: string;
}

export interface HistoryRecord {
  prompt: QueueItem;
  outputs: Record<string, NodeOutput>;
  status: HistoryStatus;
  meta: Record<string, HistoryNodeMeta>;
}

/** GET /history and /history/{id}: prompt_id → record, oldest first. */
export type History = Record<string, HistoryRecord>;

export interface PostHistoryBody {
  clear?: boolean;
  delete?: string[];
}

// ---------------------------------------------------------------------------------------------
// Jobs API (/api/jobs, newer servers)
// ---------------------------------------------------------------------------------------------

export type ComfyJobStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

/** One job in /api/jobs. Keys whose value would be null are left out by the server. */
export interface ComfyJob {
  id: string;
  status: ComfyJobStatus;
  priority: number;
  create_time?: number;
  execution_start_time?: number;
  execution_end_time?: number;
  execution_error?: ExecutionErrorData;
  outputs_count?: number;
  previewable_outputs_count?: number;
  preview_output?: JsonObject;
  workflow_id?: string;
}

/** GET /api/jobs/{id}: the job plus outputs, status and workflow. */
export interface ComfyJobDetail extends ComfyJob {
  outputs?: Record<string, NodeOutput>;
  execution_status?: HistoryStatus;
  workflow?: { prompt: ApiPrompt; extra_data: JsonObject };
}

export interface ComfyJobList {
  jobs: ComfyJob[];
  pagination: { offset: number; limit: number | null; total: number; has_more: boolean };
}

export interface ComfyJobListQuery {
  status?: ComfyJobStatus[];
  workflow_id?: string;
  sort_by?: 'created_at' | 'execution_duration';
  sort_order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

// ---------------------------------------------------------------------------------------------
// System, nodes, models, files
// ---------------------------------------------------------------------------------------------

export interface DeviceStats {
  name: string;
  type: string;
  index: number | null;
  vram_total: number;
  vram_free: number;
  torch_vram_total: number;
  torch_vram_free: number;
}

export interface SystemStats {
  system: {
    os: string;
    ram_total: number;
    ram_free: number;
    comfyui_version: string;
    python_version: string;
    pytorch_version: string;
    embedded_python: boolean;
    argv: string[];
    [key: string]: JsonValue;
  };
  devices: DeviceStats[];
}

/** An input spec: `[TYPE]`, `[TYPE, options]`, `[[combo values...]]` or `[[combo values], options]`. */
export type InputSpec = [string | string[]] | [string | string[], JsonObject];

export interface NodeInfo {
  input: {
    required?: Record<string, InputSpec>;
    optional?: Record<string, InputSpec>;
    hidden?: Record<string, JsonValue>;
  };
  input_order: { required?: string[]; optional?: string[]; hidden?: string[] };
  output: string[];
  output_is_list: boolean[];
  output_name: string[];
  name: string;
  display_name: string | null;
  description: string;
  python_module: string;
  category: string;
  output_node: boolean;
  [key: string]: JsonValue | undefined;
}

/** GET /object_info: class name → info. */
export type ObjectInfo = Record<string, NodeInfo>;

/** Server feature flags (GET /features, and the WS `feature_flags` reply). */
export type FeatureFlags = JsonObject;

/** POST /upload/image and /upload/mask answer. Note the key is `name`, not `filename`. */
export interface UploadResult {
  name: string;
  subfolder: string;
  type: 'input' | 'output' | 'temp';
}

export interface FreeBody {
  unload_models?: boolean;
  free_memory?: boolean;
}

// ---------------------------------------------------------------------------------------------
// WebSocket messages (server → client)
// ---------------------------------------------------------------------------------------------

export interface StatusData {
  status: { exec_info: { queue_remaining: number } };
  /** Only on the first message after connect. */
  sid?: string;
}

export interface ExecutionStartData {
  prompt_id: string;
  timestamp: number;
}

export interface ExecutionCachedData {
  nodes: string[];
  prompt_id: string;
  timestamp: number;
}

/** `node: null` (with prompt_id) marks the end of a prompt; on reconnect, a bare `{node}` without prompt_id. */
export interface ExecutingData {
  node: string | null;
  display_node?: string;
  prompt_id?: string;
}

export interface ProgressData {
  value: number;
  max: number;
  prompt_id: string;
  node: string;
}

export interface ProgressNodeState {
  value: number;
  max: number;
  state: 'running' | 'finished' | 'pending' | 'error';
  node_id: string;
  prompt_id: string;
  display_node_id: string;
  parent_node_id: string | null;
  real_node_id: string;
}

export interface ProgressStateData {
  prompt_id: string;
  nodes: Record<string, ProgressNodeState>;
}

export interface ExecutedData {
  node: string;
  display_node: string;
  output: NodeOutput | null;
  prompt_id: string;
}

export interface ExecutionSuccessData {
  prompt_id: string;
  timestamp: number;
}

export interface ExecutionErrorData {
  prompt_id: string;
  node_id: string;
  node_type: string;
  executed: string[];
  exception_message: string;
  exception_type: string;
  traceback: string[];
  current_inputs: JsonObject;
  current_outputs: string[];
  timestamp: number;
}

export interface ExecutionInterruptedData {
  prompt_id: string;
  node_id: string;
  node_type: string;
  executed: string[];
  timestamp: number;
}

/** Every JSON message type ComfyUI core sends, keyed by `type`. */
export interface ServerMessageMap {
  status: StatusData;
  execution_start: ExecutionStartData;
  execution_cached: ExecutionCachedData;
  executing: ExecutingData;
  progress: ProgressData;
  progress_state: ProgressStateData;
  executed: ExecutedData;
  execution_success: ExecutionSuccessData;
  execution_error: ExecutionErrorData;
  execution_interrupted: ExecutionInterruptedData;
  feature_flags: FeatureFlags;
}

export type KnownMessageType = keyof ServerMessageMap;

/** A JSON message from the server. Unknown types (custom nodes, manager) pass through as-is. */
export type ServerMessage =
  | { [T in KnownMessageType]: { type: T; data: ServerMessageMap[T] } }[KnownMessageType]
  | { type: string & {}; data: JsonValue; unknown: true };

export const KNOWN_MESSAGE_TYPES: readonly KnownMessageType[] = [
  'status',
  'execution_start',
  'execution_cached',
  'executing',
  'progress',
  'progress_state',
  'executed',
  'execution_success',
  'execution_error',
  'execution_interrupted',
  'feature_flags',
];

// ---------------------------------------------------------------------------------------------
// Binary WebSocket frames
// ---------------------------------------------------------------------------------------------

/** First big-endian u32 of every binary frame. */
export const BinaryEventType = {
  PREVIEW_IMAGE: 1,
  UNENCODED_PREVIEW_IMAGE: 2,
  TEXT: 3,
  PREVIEW_IMAGE_WITH_METADATA: 4,
} as const;

/** Second u32 of a type-1 frame. */
export const PreviewImageFormat = { JPEG: 1, PNG: 2 } as const;

export interface PreviewMetadata {
  node_id: string;
  prompt_id: string;
  display_node_id: string;
  parent_node_id: string | null;
  real_node_id: string;
  image_type: 'image/jpeg' | 'image/png';
}

/** A decoded binary frame. */
export type BinaryFrame =
  | { kind: 'preview'; format: 'jpeg' | 'png'; mime: 'image/jpeg' | 'image/png'; image: Uint8Array }
  | {
      kind: 'preview_with_metadata';
      metadata: PreviewMetadata;
      mime: 'image/jpeg' | 'image/png';
      image: Uint8Array;
    }
  | { kind: 'text'; node_id: string; text: string }
  | { kind: 'unknown'; event_type: number; payload: Uint8Array };
