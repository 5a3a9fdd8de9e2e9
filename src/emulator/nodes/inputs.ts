/**
 * Reading a node's inputs with the errors Python would raise when one is missing or of the wrong
 * kind (a constant where a tensor is expected, and so on).
 */
import { Tensor } from '../images/index.js';
import { missingArgument, PythonNodeError } from './node-error.js';

/** Reads inputs of one node call; `fn` names the Python function in error messages. */
export class NodeInputs {
  constructor(
    private readonly values: Record<string, unknown>,
    private readonly fn: string,
  ) {}

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  raw(name: string): unknown {
    const v = this.values[name];
    if (v === undefined) throw missingArgument(this.fn, name);
    return v;
  }

  /** A tensor input (IMAGE, MASK). */
  tensor(name: string): Tensor {
    const v = this.raw(name);
    if (v instanceof Tensor) return v;
    throw new PythonNodeError(
      'AttributeError',
      `'${pyTypeName(v)}' object has no attribute 'shape'`,
    );
  }

  optionalTensor(name: string): Tensor | undefined {
    return this.has(name) ? this.tensor(name) : undefined;
  }

  int(name: string, fallback?: number): number {
    if (!this.has(name) && fallback !== undefined) return fallback;
    const v = this.raw(name);
    if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw new PythonNodeError(
      'TypeError',
      `'${pyTypeName(v)}' object cannot be interpreted as an integer`,
    );
  }

  float(name: string, fallback?: number): number {
    if (!this.has(name) && fallback !== undefined) return fallback;
    const v = this.raw(name);
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw new PythonNodeError(
      'TypeError',
      `unsupported operand type(s) for *: 'int' and '${pyTypeName(v)}'`,
    );
  }

  string(name: string, fallback?: string): string {
    if (!this.has(name) && fallback !== undefined) return fallback;
    const v = this.raw(name);
    if (typeof v === 'string') return v;
    throw new PythonNodeError(
      'TypeError',
      `can only concatenate str (not "${pyTypeName(v)}") to str`,
    );
  }

  bool(name: string, fallback?: boolean): boolean {
    if (!this.has(name) && fallback !== undefined) return fallback;
    return Boolean(this.raw(name));
  }

  /** A combo value that must be one of `options`. */
  choice<T extends string>(name: string, options: readonly T[], fallback?: T): T {
    if (!this.has(name) && fallback !== undefined) return fallback;
    const v = this.raw(name);
    if (typeof v === 'string' && (options as readonly string[]).includes(v)) return v as T;
    throw new PythonNodeError('ValueError', `${pyReprShort(v)} is not in list`);
  }

  /** An object input of a given class (MODEL, CLIP, LATENT, ...). */
  object<T>(name: string, cls: abstract new (...args: never[]) => T, typeName: string): T {
    const v = this.raw(name);
    if (v instanceof cls) return v;
    throw new PythonNodeError(
      'AttributeError',
      `'${pyTypeName(v)}' object has no attribute '${typeName}'`,
    );
  }
}

function pyReprShort(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** The Python type name of a value that came from JSON or another node. */
export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Tensor) return 'Tensor';
  if (typeof v === 'object') {
    const name = (v as { constructor?: { name?: string } }).constructor?.name;
    return name && name !== 'Object' ? name : 'dict';
  }
  return 'object';
}
