import { test } from 'node:test';
import assert from 'node:assert/strict';

test('toolchain compiles and runs TypeScript tests', () => {
  assert.equal([1, 2, 3].map((x) => x * 2).join(','), '2,4,6');
});
