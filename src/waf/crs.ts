/**
 * Finding a CRS release. Bulwark never ships CRS: it uses a folder the operator names, or one found in the usual
 * places, and says exactly what to run when there is none.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The release Bulwark is tested against (its regression suite passes on this one). */
export const PINNED_CRS_VERSION = '4.28.0';

export function isCrsRelease(dir: string): boolean {
  return (
    existsSync(join(dir, 'rules', 'REQUEST-901-INITIALIZATION.conf')) && existsSync(join(dir, 'crs-setup.conf.example'))
  );
}

/** Where `bulwark crs install` puts releases: $XDG_CACHE_HOME/bulwark/crs/vX, or ~/.cache/bulwark/crs/vX. */
export function cacheDir(version = PINNED_CRS_VERSION): string {
  const base = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'bulwark', 'crs', `v${version}`);
}

/** The folders looked at, in order, when the config names none. */
export function candidateDirs(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/waf/crs.js → the package root is two levels up; the shared folder sits beside the repository.
  const packageRoot = resolve(here, '..', '..');
  const out: string[] = [];
  const env = process.env['BULWARK_CRS_DIR'];
  if (env) out.push(resolve(env));
  out.push(resolve(packageRoot, '..', 'shared', 'crs', `v${PINNED_CRS_VERSION}`));
  out.push(resolve(process.cwd(), '..', 'shared', 'crs', `v${PINNED_CRS_VERSION}`));
  out.push(cacheDir());
  return [...new Set(out)];
}

export type CrsLocation = { ok: true; dir: string } | { ok: false; message: string };

export function locateCrs(configured: string | undefined, baseDir: string): CrsLocation {
  if (configured !== undefined) {
    const dir = resolve(baseDir, configured);
    if (isCrsRelease(dir)) return { ok: true, dir };
    return {
      ok: false,
      message: `waf.crs.dir: ${dir} is not a CRS release (expected rules/REQUEST-901-INITIALIZATION.conf and crs-setup.conf.example there)`,
    };
  }
  const tried = candidateDirs();
  for (const dir of tried) if (isCrsRelease(dir)) return { ok: true, dir };
  return {
    ok: false,
    message:
      `no OWASP CRS release found (looked in ${tried.join(', ')}). ` +
      `Run "bulwark crs install --from <folder of an unpacked CRS v${PINNED_CRS_VERSION} release>" ` +
      `(or "npx bulwark crs install" where the machine can reach github.com), set BULWARK_CRS_DIR, ` +
      `or set waf.crs.dir in the config.`,
  };
}
