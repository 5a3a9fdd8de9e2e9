import path from 'node:path';
import { type DestinationStream, type Level, type Logger, pino, type StreamEntry } from 'pino';
import { RotatingFile } from './rotating-file.js';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** pino level (`LOG_LEVEL`, default `info`). */
  level?: string;
  /** `LOG_DIRECTORY`: also write `combined.log` (every line) and `error.log` (errors). */
  directory?: string | null;
  /** Where lines go besides the files (default standard output). */
  destination?: DestinationStream;
  /** Size at which a log file is rotated (default 10 MiB), and copies kept (default 5). */
  maxBytes?: number;
  maxFiles?: number;
}

/** A logger and what must be closed with it. */
export interface GatewayLogger {
  logger: Logger;
  /** The log files, when a directory was given. */
  files: string[];
  close(): void;
}

/** Paths pino blanks out wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  'password',
  'token',
  'api_key',
  '*.password',
  '*.token',
  '*.api_key',
  'auth.token',
  'auth.password',
  'auth.value',
  '*.auth.token',
  '*.auth.password',
  '*.auth.value',
  'connection.headers',
  'env_vars',
  '*.env_vars',
];

/**
 * The gateway's pino logger: JSON lines on standard output and, with a log directory,
 * `combined.log` and `error.log` rotated by size. Authorization headers, tokens, passwords and
 * instance credentials are redacted wherever they appear.
 *
 * @example
 * const { logger, close } = createLogger({ level: 'info', directory: process.env.LOG_DIRECTORY });
 * logger.info({ port: 8190 }, 'listening');
 * close();
 */
export function createLogger(options: LoggerOptions = {}): GatewayLogger {
  const level = options.level ?? 'info';
  const files: RotatingFile[] = [];
  const streams: StreamEntry[] = [
    {
      level: level as Level,
      stream: options.destination ?? pino.destination({ fd: 1, sync: true }),
    },
  ];
  if (options.directory) {
    const rotation = {
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      ...(options.maxFiles === undefined ? {} : { maxFiles: options.maxFiles }),
    };
    const combined = new RotatingFile({
      file: path.join(options.directory, 'combined.log'),
      ...rotation,
    });
    const errors = new RotatingFile({
      file: path.join(options.directory, 'error.log'),
      ...rotation,
    });
    files.push(combined, errors);
    streams.push({ level: level as Level, stream: combined }, { level: 'error', stream: errors });
  }
  const logger = pino(
    {
      level,
      base: { service: 'comfy-cluster' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    pino.multistream(streams),
  );
  return {
    logger,
    files: files.map((f) => f.file),
    close: () => {
      for (const f of files) f.close();
    },
  };
}
