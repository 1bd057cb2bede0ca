// Bounded fuzz of the config adapter: random edits of a valid file must give a config or problems, never a throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_CONFIG_YAML } from './index.js';
import { loadConfigText } from '../bulwark-config.js';

test('mutated config text never throws', () => {
  const base = DEFAULT_CONFIG_YAML;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(base.length), fc.nat(8), fc.string({ maxLength: 12 })), { maxLength: 6 }),
      (edits) => {
        let text = base;
        for (const [at, del, insert] of edits) text = text.slice(0, at) + insert + text.slice(at + del);
        const r = loadConfigText(text, 'fuzz.yaml', '/tmp', {});
        if (!r.ok) for (const p of r.problems) assert.ok(p.line >= 0 && typeof p.message === 'string');
      },
    ),
    { numRuns: 400, seed: 42 },
  );
});
