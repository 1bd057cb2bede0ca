/**
 * YAML adapter: parses bulwark.yaml keeping node positions, so every later error can name file:line:col.
 * `${VAR}` is substituted inside string scalars after parsing (never in the raw text), so a secret cannot change
 * the document's structure and positions stay those of the file. `$${` writes a literal `${`.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { ConfigProblem } from './errors.js';
import { formatPath } from './errors.js';

export interface ParsedYaml {
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
  readonly value: unknown;
}

const ENV_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function parseYaml(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
): { parsed?: ParsedYaml; problems: ConfigProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: false });
  const problems: ConfigProblem[] = [];
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, col: pos.col, path: '', message: `YAML: ${e.message.split('\n')[0]}` });
  }
  if (problems.length > 0) return { problems };

  visit(doc, {
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      node.value = node.value.replace(ENV_RE, (whole, name: string | undefined) => {
        if (whole === '$${') return '${';
        const v = env[name!];
        if (v === undefined) {
          const pos = lines.linePos(node.range?.[0] ?? 0);
          problems.push({
            file,
            line: pos.line,
            col: pos.col,
            path: formatPath(pathOf(ancestry, node)),
            message: `environment variable ${name} is not set; export it or remove \${${name}}`,
          });
          return '';
        }
        return v;
      });
    },
  });
  return { parsed: { doc, lines, value: doc.toJS({ maxAliasCount: 100 }) }, problems };
}

function pathOf(ancestry: readonly unknown[], node: Node): Array<string | number> {
  const out: Array<string | number> = [];
  const chain = [...ancestry, node];
  for (let i = 1; i < chain.length; i++) {
    const parent = chain[i - 1];
    const child = chain[i];
    if (isSeq(parent)) out.push(parent.items.indexOf(child as never));
    else if (isMap(parent)) {
      // ancestry holds the Pair; its key names the segment.
    } else if (parent && typeof parent === 'object' && 'key' in parent && 'value' in parent) {
      const key = (parent as { key: unknown }).key;
      out.push(isScalar(key) ? String(key.value) : String(key));
    }
  }
  return out;
}

/** The position of the node at `path`, or of its nearest existing ancestor (for a missing property). */
export function positionOf(parsed: ParsedYaml, path: ReadonlyArray<string | number>): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = parsed.doc.getIn(path.slice(0, n), true) as Node | undefined;
    if (node && typeof node === 'object' && node.range) {
      // For a pair's value we point at the value; a missing key points at its parent mapping.
      return parsed.lines.linePos(node.range[0]);
    }
    if (n > 0) {
      // Key exists but the value is a null scalar without range: point at the key.
      const parent = parsed.doc.getIn(path.slice(0, n - 1), true) as Node | undefined;
      if (parent && isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[n - 1]);
        if (pair && isScalar(pair.key) && pair.key.range) return parsed.lines.linePos(pair.key.range[0]);
      }
    }
  }
  return { line: 1, col: 1 };
}

/** The position of a mapping key itself, for "unknown property" errors. */
export function keyPositionOf(
  parsed: ParsedYaml,
  parentPath: ReadonlyArray<string | number>,
  key: string,
): { line: number; col: number } {
  const parent = parsed.doc.getIn(parentPath, true) as Node | undefined;
  if (parent && isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair && isScalar(pair.key) && pair.key.range) return parsed.lines.linePos(pair.key.range[0]);
  }
  if (parentPath.length === 0 && isMap(parsed.doc.contents)) {
    const pair = parsed.doc.contents.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair && isScalar(pair.key) && pair.key.range) return parsed.lines.linePos(pair.key.range[0]);
  }
  return positionOf(parsed, parentPath);
}
