import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApiPrompt } from '../../comfy/protocol.js';
import { PyFloat, pyJsonDumps } from '../../comfy/python-format.js';
import { dumpsJson, promptMetadataJson } from './metadata-json.js';
import { type NodeSetContext, promptForMetadata } from './node-set.js';
import type { NodeEnvironment } from './types.js';

const number = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-0, 2 ** 53 + 2, 1e21, -1e300, 123456789012345680000, 0.1, 1e-7),
);
const leaf = fc.oneof(
  number,
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('a"b\\c\n\t\u0001\u007f\u00e9\ud83d\ude00', null, true, false),
  number.map((n) => new PyFloat(n)),
);
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('any'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('1', '10', 'inputs')), tie('any'), {
    maxKeys: 4,
  }),
})).any;

describe('metadata JSON', () => {
  it('writes what pyJsonDumps writes', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(dumpsJson(v)).toBe(pyJsonDumps(v));
      }),
      { numRuns: 500 },
    );
  });

  it('writes a prompt as pyJsonDumps(promptForMetadata(...)), FLOAT inputs as floats', () => {
    const floats: Record<string, ReadonlySet<string>> = {
      KSampler: new Set(['cfg', 'denoise']),
    };
    const shared: NodeSetContext = {
      savePaths: undefined as never,
      floatInputs: (classType) => floats[classType] ?? new Set(),
    };
    const env = {} as NodeEnvironment;
    const node = fc.record({
      class_type: fc.constantFrom('KSampler', 'EmptyImage', 'Other'),
      inputs: fc.dictionary(fc.constantFrom('cfg', 'denoise', 'seed', 'x', '2'), value, {
        maxKeys: 4,
      }),
      _meta: fc.option(fc.record({ title: fc.string() }), { nil: undefined }),
    });
    const prompt = fc.dictionary(fc.constantFrom('1', '2', '10', 'a'), fc.oneof(node, value), {
      maxKeys: 4,
    });
    fc.assert(
      fc.property(prompt, (p) => {
        const expected = pyJsonDumps(promptForMetadata(p as ApiPrompt, shared, env));
        expect(promptMetadataJson(p, (c) => shared.floatInputs(c, env))).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
