/**
 * The path used for routing and access decisions, so that "/admin/../x", "//admin" and "/%61dmin" cannot
 * reach past a rule written for "/admin". The request is still forwarded with the target the client sent.
 */
const UNRESERVED = /%(2[dDeE]|3[0-9]|4[1-9a-fA-F]|5[0-9aA]|5[fF]|6[1-9a-fA-F]|7[0-9aA]|7[eE])/g;

export function routingPath(rawPath: string): string {
  let p = rawPath;
  if (p.includes('%')) p = p.replace(UNRESERVED, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  // Fast path: nothing to collapse.
  if (!p.includes('//') && !p.includes('/.')) return p;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const trailing = p.endsWith('/') || p.endsWith('/.') || p.endsWith('/..');
  return '/' + out.join('/') + (trailing && out.length > 0 ? '/' : '');
}
