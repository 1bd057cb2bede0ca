/**
 * The `t:` transformations, by lower-cased name. Each takes and returns a byte string (one char per byte, 0..255)
 * and returns its input unchanged, the same string, when there is nothing to do: the engine caches on that.
 */
import { createHash } from 'node:crypto';
import {
  base64Decode,
  base64DecodeExt,
  cssDecode,
  escapeSeqDecode,
  hexDecode,
  htmlEntityDecode,
  jsDecode,
  sqlHexDecode,
  urlDecode,
  urlDecodeUni,
  utf8toUnicode,
} from './decode.js';
import * as text from './text.js';

export type Transform = (input: string) => string;

const hash =
  (algorithm: string): Transform =>
  (s) =>
    createHash(algorithm).update(s, 'latin1').digest().toString('latin1');

function hexEncode(s: string): string {
  return Buffer.from(s, 'latin1').toString('hex');
}

export const TRANSFORMS: ReadonlyMap<string, Transform> = new Map<string, Transform>([
  ['none', (s) => s],
  ['lowercase', text.lowercase],
  ['uppercase', text.uppercase],
  ['urldecode', urlDecode],
  ['urldecodeuni', urlDecodeUni],
  ['urlencode', text.urlEncode],
  ['jsdecode', jsDecode],
  ['cssdecode', cssDecode],
  ['htmlentitydecode', htmlEntityDecode],
  ['escapeseqdecode', escapeSeqDecode],
  ['utf8tounicode', utf8toUnicode],
  ['base64decode', base64Decode],
  ['base64decodeext', base64DecodeExt],
  ['base64encode', (s) => Buffer.from(s, 'latin1').toString('base64')],
  ['hexdecode', hexDecode],
  ['hexencode', hexEncode],
  ['sqlhexdecode', sqlHexDecode],
  ['removenulls', text.removeNulls],
  ['replacenulls', text.replaceNulls],
  ['removewhitespace', text.removeWhitespace],
  ['compresswhitespace', text.compressWhitespace],
  ['replacecomments', text.replaceComments],
  ['removecomments', text.removeComments],
  ['removecommentschar', text.removeCommentsChar],
  ['cmdline', text.cmdLine],
  ['normalizepath', text.normalizePath],
  ['normalisepath', text.normalizePath],
  ['normalizepathwin', text.normalizePathWin],
  ['normalisepathwin', text.normalizePathWin],
  ['trim', text.trim],
  ['trimleft', text.trimLeft],
  ['trimright', text.trimRight],
  ['length', (s) => String(s.length)],
  ['sha1', hash('sha1')],
  ['md5', hash('md5')],
]);

export function lookupTransform(name: string): Transform | undefined {
  return TRANSFORMS.get(name.toLowerCase());
}
