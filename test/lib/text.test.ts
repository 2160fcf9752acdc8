import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeControlCharacters } from '../../src/lib/text.js';

describe('escapeControlCharacters', () => {
  it('writes C0, DEL and C1 controls as escapes and keeps newline, tab and printable text', () => {
    assert.equal(escapeControlCharacters('a\u0000b\u001b[31mc\u007f\u0085'), 'a\\u0000b\\u001b[31mc\\u007f\\u0085');
    assert.equal(escapeControlCharacters('line 1\n\tline 2 é 日本 \ufffd'), 'line 1\n\tline 2 é 日本 \ufffd');
  });
});
