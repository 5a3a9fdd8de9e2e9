import type { FieldError } from './validation.js';

/** Stable error codes of the fleet module (the API maps them to HTTP statuses). */
export type FleetErrorCode =
  | 'validation_failed'
  | 'instance_not_found'
  | 'instance_read_only'
  | 'invalid_state'
  | 'supervisor_unavailable'
  | 'config_file_invalid'
  | 'import_rejected';

/**
 * Base class of every error the fleet module throws on purpose.
 *
 * @example
 * try { await registry.update(id, patch); } catch (e) { if (e instanceof FleetError) reply(e.code); }
 */
export class FleetError extends Error {
  readonly code: FleetErrorCode;

  constructor(code: FleetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FleetError';
    this.code = code;
  }
}

/**
 * Input did not validate; `errors` lists every field problem.
 *
 * @example
 * catch (e) { if (e instanceof InstanceValidationError) reply(400, { details: e.errors }); }
 */
export class InstanceValidationError extends FleetError {
  readonly errors: FieldError[];

  constructor(errors: FieldError[], what = 'instance') {
    const first = errors[0];
    super(
      'validation_failed',
      `${what} is invalid: ${first ? `${first.path || '(root)'} ${first.message}` : 'unknown problem'}${
        errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''
      }`,
    );
    this.name = 'InstanceValidationError';
    this.errors = errors;
  }
}

/** No instance has that id (or name). */
export class InstanceNotFoundError extends FleetError {
  readonly ref: string;

  constructor(ref: string) {
    super('instance_not_found', `no instance '${ref}'`);
    this.name = 'InstanceNotFoundError';
    this.ref = ref;
  }
}

/** The instance comes from environment variables and cannot be edited or deleted here. */
export class InstanceReadOnlyError extends FleetError {
  constructor(id: string, origin: string) {
    super(
      'instance_read_only',
      `instance '${id}' comes from ${origin}; change or remove it there (environment instances are not stored in the config file)`,
    );
    this.name = 'InstanceReadOnlyError';
  }
}

/** A lifecycle action that does not fit the current status, or needs the supervisor. */
export class LifecycleError extends FleetError {
  constructor(code: 'invalid_state' | 'supervisor_unavailable', message: string) {
    super(code, message);
    this.name = 'LifecycleError';
  }
}

/** Where in a JSON text a problem is. */
export interface TextPosition {
  /** 0-based character offset */
  offset: number;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
}

/** The config file cannot be read, parsed or migrated; the file is left as it is. */
export class ConfigFileError extends FleetError {
  readonly file: string;
  readonly position: TextPosition | undefined;
  readonly errors: FieldError[];

  constructor(
    file: string,
    message: string,
    options: { position?: TextPosition; errors?: FieldError[]; cause?: unknown } = {},
  ) {
    super('config_file_invalid', `${file}: ${message}`, { cause: options.cause });
    this.name = 'ConfigFileError';
    this.file = file;
    this.position = options.position;
    this.errors = options.errors ?? [];
  }
}

/** The problems of one instance of an import. */
export interface ImportInstanceErrors {
  /** Index in the imported `instances` array. */
  index: number;
  id: string | undefined;
  name: string | undefined;
  errors: FieldError[];
}

/**
 * An import was refused; nothing was changed.
 *
 * @example
 * catch (e) { if (e instanceof ImportRejectedError) for (const i of e.instances) show(i.index, i.errors); }
 */
export class ImportRejectedError extends FleetError {
  /** Problems of the document itself (JSON syntax, version, active_instance_id, ...). */
  readonly errors: FieldError[];
  /** Problems per instance (only instances with problems are listed). */
  readonly instances: ImportInstanceErrors[];

  constructor(errors: FieldError[], instances: ImportInstanceErrors[]) {
    const count = errors.length + instances.reduce((n, i) => n + i.errors.length, 0);
    super(
      'import_rejected',
      `import rejected, nothing was changed: ${count} problem(s)${
        instances.length > 0 ? ` in ${instances.length} instance(s)` : ''
      }`,
    );
    this.name = 'ImportRejectedError';
    this.errors = errors;
    this.instances = instances;
  }
}
