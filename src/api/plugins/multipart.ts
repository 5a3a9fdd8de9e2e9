import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';

/**
 * multipart/form-data uploads with limits: a larger file is a 413 `payload_too_large`.
 *
 * @example
 * await registerMultipart(app, { fileSizeBytes: 100 * 1024 * 1024 });
 */
export async function registerMultipart(
  app: FastifyInstance,
  options: { fileSizeBytes: number },
): Promise<void> {
  await app.register(multipart, {
    limits: {
      fileSize: options.fileSizeBytes,
      files: 16,
      fields: 64,
      fieldSize: 1024 * 1024,
      parts: 128,
      headerPairs: 200,
    },
  });
}
