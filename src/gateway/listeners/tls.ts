/**
 * TLS certificates chosen by SNI. Contexts are built at load; the SNI callback is a map lookup: exact name
 * first, then the wildcard one label up, then the default (the first certificate), like nginx's default_server.
 *
 * The default is also the server's own context, not only the SNI callback's answer: a client that connects by
 * address (curl to 127.0.0.1, a load balancer's health check) sends no server name, so the callback never runs
 * and the handshake uses whatever certificate the server itself was given.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { BulwarkError } from '../../errors.js';
import type { ListenerConfig } from '../schema.js';

export interface CertificateTable {
  readonly byName: ReadonlyMap<string, SecureContext>;
  /** The first certificate, as options for tls.createServer and setSecureContext: what a client without SNI gets. */
  readonly defaults: Pick<SecureContextOptions, 'cert' | 'key' | 'minVersion'>;
}

function namesOf(certPem: Buffer): string[] {
  const cert = new X509Certificate(certPem);
  const names = (cert.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (names.length === 0) {
    const cn = /CN=([^,\n]+)/.exec(cert.subject)?.[1];
    if (cn) names.push(cn.toLowerCase());
  }
  return names;
}

export function loadCertificates(tls: NonNullable<ListenerConfig['tls']>, baseDir: string): CertificateTable {
  const byName = new Map<string, SecureContext>();
  const minVersion = tls.min_version ?? 'TLSv1.2';
  let defaults: CertificateTable['defaults'] | undefined;
  for (const c of tls.certificates) {
    let cert: Buffer;
    let key: Buffer;
    let context: SecureContext;
    try {
      cert = readFileSync(resolve(baseDir, c.cert));
      key = readFileSync(resolve(baseDir, c.key));
      context = createSecureContext({ cert, key, minVersion });
    } catch (e) {
      throw new BulwarkError('BWK_ERR_TLS_CERT', `certificate ${c.cert} / key ${c.key}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    defaults ??= { cert, key, minVersion };
    for (const name of c.hosts?.map((h) => h.toLowerCase()) ?? namesOf(cert)) {
      if (!byName.has(name)) byName.set(name, context);
    }
  }
  return { byName, defaults: defaults! };
}

/** The context for a server name; undefined keeps the server's own, the default certificate. */
export function selectContext(table: CertificateTable, servername: string): SecureContext | undefined {
  const name = servername.toLowerCase();
  const exact = table.byName.get(name);
  if (exact) return exact;
  const dot = name.indexOf('.');
  if (dot > 0) return table.byName.get(`*${name.slice(dot)}`);
  return undefined;
}
