/**
 * List files: one IPv4/IPv6 address or CIDR a line, `#` starts a comment (public reputation feeds use this
 * shape). A bad line is reported with its number and skipped; it never makes the whole list fail.
 */
import { parseCidr, type Cidr } from '../../lib/ip.js';

export interface ListProblem {
  readonly line: number;
  readonly message: string;
}

export function parseList(text: string): { cidrs: Cidr[]; problems: ListProblem[] } {
  const cidrs: Cidr[] = [];
  const problems: ListProblem[] = [];
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    const hash = raw.indexOf('#');
    const entry = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (entry === '') continue;
    const c = parseCidr(entry);
    if (typeof c === 'string') problems.push({ line, message: c });
    else cidrs.push(c);
  }
  return { cidrs, problems };
}
