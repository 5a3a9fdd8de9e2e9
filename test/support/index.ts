/**
 * Shared helpers for protocol (contract) tests: which server to talk to, the recorded transcripts,
 * raw HTTP and WebSocket capture, and the comparators that hold an answer against a recording.
 */
export * from './capabilities.js';
export * from './contract.js';
export * from './exchange-check.js';
export * from './http.js';
export * from './image-info.js';
export * from './json-path.js';
export * from './ordered-json.js';
export * from './server-lock.js';
export * from './shape-compare.js';
export * from './target.js';
export * from './transcripts.js';
export * from './ws-capture.js';
export * from './ws-sequence.js';
