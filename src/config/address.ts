/** host:port as the config writes listener and admin addresses. */
export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(address.slice(i + 1)) };
}
