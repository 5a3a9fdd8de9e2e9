/**
 * The seed's async routes, in its exact shapes: `POST /api/remove-background` and
 * `POST /api/upscale-image` (image as multipart or base64) run the built-in templates;
 * `GET /api/jobs/{job_id}/status` and `GET /api/jobs/{job_id}/result` read the job. Only these
 * two `/api/jobs/...` paths are ours (ComfyUI's `/api/jobs/{id}` belongs to the drop-in routes).
 */
import { readFile } from 'node:fs/promises';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { fileNameProblem, type Job, WorkflowRejectedError } from '../../../jobs/index.js';
import { ApiError } from '../../errors.js';
import { errorResponses } from '../../schemas.js';
import { canSee, principalOf } from '../jobs/index.js';
import type { JobLayer } from '../jobs/job-layer.js';

const tags = ['seed'];
const security = [{ bearerAuth: [] }];

/** Node classes each seed template needs, for the 503 wording. */
const NEEDS: Record<string, string> = {
  'remove-background':
    'no instance has the background-removal node InspyrenetRembg (install the ComfyUI-Inspyrenet-Rembg node pack on an instance)',
  'upscale-image': 'no instance can run the upscale workflow',
};

/** Template parameters a seed request may pass through besides the image. */
const PASSED = ['scale', 'method', 'model', 'threshold'] as const;

const SubmitResponse = Type.Object({
  job_id: Type.String(),
  status: Type.Literal('pending'),
  estimated_completion_seconds: Type.Union([Type.Number(), Type.Null()]),
});
const StatusResponse = Type.Object({
  job_id: Type.String(),
  status: Type.String(),
  progress: Type.Integer({ minimum: 0, maximum: 100 }),
  comfyui_instance: Type.Union([Type.String(), Type.Null()]),
  processing_time_ms: Type.Union([Type.Integer(), Type.Null()]),
});
const ResultResponse = Type.Object({
  job_id: Type.String(),
  status: Type.Literal('completed'),
  image_base64: Type.String(),
  processing_time_ms: Type.Union([Type.Integer(), Type.Null()]),
  comfyui_instance: Type.Union([Type.String(), Type.Null()]),
});
const JobIdParams = Type.Object({ job_id: Type.String({ minLength: 1, maxLength: 128 }) });

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The image (bytes or base64 text) and the pass-through parameters of a seed request. */
async function readSeedRequest(
  request: FastifyRequest,
): Promise<{ image: Uint8Array | string; params: Record<string, unknown> }> {
  const params: Record<string, unknown> = {};
  let image: Uint8Array | string | undefined;
  if (request.isMultipart()) {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const problem = fileNameProblem(part.filename || 'image.png');
        if (problem) {
          part.file.resume();
          throw new ApiError('validation_failed', `file name: ${problem}`, [
            { path: `files.${part.fieldname}`, message: problem },
          ]);
        }
        const bytes = await part.toBuffer();
        if (image === undefined) image = bytes;
      } else if (part.fieldname === 'image' || part.fieldname === 'image_base64') {
        image = String(part.value);
      } else if ((PASSED as readonly string[]).includes(part.fieldname)) {
        const v = String(part.value);
        params[part.fieldname] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
      }
    }
  } else {
    const body = request.body;
    if (!isObject(body)) {
      throw new ApiError(
        'validation_failed',
        'send the image as multipart or JSON {"image": "<base64>"}',
        [{ path: 'image', message: 'is required' }],
      );
    }
    const given = body.image ?? body.image_base64;
    if (given !== undefined && typeof given !== 'string') {
      throw new ApiError('validation_failed', 'image must be base64 text or a data URL', [
        { path: 'image', message: 'must be a string' },
      ]);
    }
    image = given;
    for (const k of PASSED) if (body[k] !== undefined) params[k] = body[k];
  }
  if (image === undefined || image === '') {
    throw new ApiError('validation_failed', 'an image is required (multipart file or base64)', [
      { path: 'image', message: 'is required' },
    ]);
  }
  return { image, params };
}

/**
 * Registers the seed's async routes.
 *
 * @example
 * await app.register(seedRoutes, { layer });
 */
export async function seedRoutes(
  fastify: FastifyInstance,
  options: { layer: JobLayer },
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { service, services } = options.layer;

  const instanceAddress = (id: string | null): string | null => {
    if (id === null) return null;
    const inst = app.api.deps.registry.get(id);
    return inst ? `${inst.host}:${inst.port}` : id;
  };

  const visible = async (request: FastifyRequest, id: string): Promise<Job> => {
    const job = await service.get(id);
    if (!job || !canSee(principalOf(request), job)) throw new ApiError('not_found', `no job ${id}`);
    return job;
  };

  for (const template of ['remove-background', 'upscale-image'] as const) {
    app.post(
      `/api/${template}`,
      {
        config: { access: 'user' },
        schema: {
          tags,
          security,
          summary: `Start ${template} on an image (multipart file, or JSON {"image": base64 or data URL})`,
          response: { 202: SubmitResponse, ...errorResponses(400, 413, 503) },
        },
      },
      async (request, reply) => {
        const { image, params } = await readSeedRequest(request);
        const principal = principalOf(request);
        try {
          const r = await service.submit(
            {
              template,
              params: { ...params, image: 'image.png' },
              inputs: [{ name: 'image.png', data: image }],
            },
            principal.key_id === null ? {} : { owner: principal.key_id },
          );
          return reply.code(202).send({
            job_id: r.job.id,
            status: 'pending' as const,
            estimated_completion_seconds: r.estimated_completion_seconds,
          });
        } catch (err) {
          if (err instanceof WorkflowRejectedError && err.code === 'NO_CAPABLE_INSTANCE') {
            throw new ApiError('service_unavailable', NEEDS[template], {
              missing: err.missing,
              reason: err.message,
            });
          }
          throw err;
        }
      },
    );
  }

  app.get(
    '/api/jobs/:job_id/status',
    {
      config: { access: 'user', logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'Status of a job: progress 0-100, the instance (host:port), processing time',
        params: JobIdParams,
        response: { 200: StatusResponse, ...errorResponses(404) },
      },
    },
    async (request) => {
      const job = await visible(request, request.params.job_id);
      const progress =
        job.status === 'completed'
          ? 100
          : Math.max(0, Math.min(100, Math.round(job.progress?.percent ?? 0)));
      const elapsed =
        job.processing_time_ms ?? (job.started_at === null ? null : Date.now() - job.started_at);
      return {
        job_id: job.id,
        status: job.status,
        progress,
        comfyui_instance: instanceAddress(job.instance_id),
        processing_time_ms: elapsed,
      };
    },
  );

  app.get(
    '/api/jobs/:job_id/result',
    {
      config: { access: 'user', logLevel: 'debug' },
      schema: {
        tags,
        security,
        summary: 'The finished image as a data URL (409 while the job is not completed)',
        params: JobIdParams,
        response: { 200: ResultResponse, ...errorResponses(404, 409) },
      },
    },
    async (request) => {
      const job = await visible(request, request.params.job_id);
      if (job.status !== 'completed') {
        throw new ApiError(
          'invalid_state',
          job.status === 'pending' || job.status === 'processing'
            ? `job ${job.id} is ${job.status}; ask again when GET /api/jobs/${job.id}/status says completed`
            : `job ${job.id} is ${job.status}; it has no result`,
          { job_id: job.id, status: job.status, error: job.error },
        );
      }
      const outputs = await service.outputs(job.id);
      const image =
        outputs.find((o) => o.kind === 'file' && o.stored_path && o.mime?.startsWith('image/')) ??
        outputs.find((o) => o.kind === 'file' && o.stored_path);
      if (!image?.stored_path) {
        throw new ApiError('invalid_state', `job ${job.id} completed without an image`, {
          job_id: job.id,
          status: job.status,
        });
      }
      const bytes = await readFile(services.outputStore.absolute(image.stored_path));
      return {
        job_id: job.id,
        status: 'completed' as const,
        image_base64: `data:${image.mime ?? 'image/png'};base64,${bytes.toString('base64')}`,
        processing_time_ms: job.processing_time_ms,
        comfyui_instance: instanceAddress(job.instance_id),
      };
    },
  );
}
