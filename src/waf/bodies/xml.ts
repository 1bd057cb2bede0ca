/**
 * XML bodies through sax in strict mode. `XML:/*` is the text of the whole document (libxml2's content of the root
 * element: every text and CDATA node, concatenated); `XML://@*` is every attribute value. No DTD or entity is ever
 * fetched or expanded beyond the five predefined ones.
 */
import sax from 'sax';
import type { BodyLimits, ParsedXml } from './types.js';
import { fromByteString, toByteString } from './types.js';

export function parseXml(input: string, limits: BodyLimits): ParsedXml {
  const parser = sax.parser(true, { trim: false, normalize: false, position: true });
  let text = '';
  const attributes: string[] = [];
  let depth = 0;
  let failure: string | undefined;
  parser.ontext = (t) => {
    if (depth > 0) text += t;
  };
  parser.oncdata = (t) => {
    if (depth > 0) text += t;
  };
  parser.onopentag = (node) => {
    depth++;
    if (depth > limits.maxJsonDepth) throw new Error(`nesting deeper than ${limits.maxJsonDepth}`);
    for (const value of Object.values(node.attributes)) {
      attributes.push(typeof value === 'string' ? value : value.value);
    }
  };
  parser.onclosetag = () => {
    depth--;
  };
  parser.onerror = (err) => {
    failure ??= err.message.split('\n')[0];
    throw err;
  };
  try {
    parser.write(fromByteString(input)).close();
  } catch (err) {
    failure ??= (err as Error).message.split('\n')[0];
  }
  const out = { args: [], rootText: toByteString(text), attributes: attributes.map(toByteString) };
  if (failure !== undefined) {
    return {
      ...out,
      error: {
        code: 'xml_syntax',
        message: `XML parser error: ${failure} (line ${parser.line + 1}, column ${parser.column})`,
      },
    };
  }
  return out;
}
