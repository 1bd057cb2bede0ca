/** Self-signed certificates for TLS tests, made with the openssl command (Debian's openssl package). */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface TestCert {
  cert: string;
  key: string;
}

export function makeCert(dir: string, name: string, dnsNames: string[]): TestCert {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${dnsNames[0]}`,
      '-addext',
      `subjectAltName=${dnsNames.map((d) => `DNS:${d}`).join(',')}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
