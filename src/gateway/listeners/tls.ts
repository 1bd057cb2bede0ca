/**
 * TLS certificates chosen by SNI. Contexts are built at load; the SNI callback is a map lookup: exact name
 * first, then the wildcard one label up, then the default (the first certificate), like nginx's default_server.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { BulwarkError } from '../../errors.js';
import type { ListenerConfig } from '../schema.js';

export interface CertificateTable {
  readonly byName: ReadonlyMap<string, SecureContext>;
  readonly fallback: SecureContext;
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
  let fallback: SecureContext | undefined;
  for (const c of tls.certificates) {
    let cert: Buffer;
    let key: Buffer;
    let context: SecureContext;
    try {
      cert = readFileSync(resolve(baseDir, c.cert));
      key = readFileSync(resolve(baseDir, c.key));
      context = createSecureContext({ cert, key, minVersion: tls.min_version ?? 'TLSv1.2' });
    } catch (e) {
      throw new BulwarkError('BWK_ERR_TLS_CERT', `certificate ${c.cert} / key ${c.key}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    fallback ??= context;
    for (const name of c.hosts?.map((h) => h.toLowerCase()) ?? namesOf(cert)) {
      if (!byName.has(name)) byName.set(name, context);
    }
  }
  return { byName, fallback: fallback! };
}

export function selectContext(table: CertificateTable, servername: string): SecureContext {
  const name = servername.toLowerCase();
  const exact = table.byName.get(name);
  if (exact) return exact;
  const dot = name.indexOf('.');
  if (dot > 0) {
    const wildcard = table.byName.get(`*${name.slice(dot)}`);
    if (wildcard) return wildcard;
  }
  return table.fallback;
}
