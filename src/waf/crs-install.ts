/**
 * `bulwark crs install`: puts a CRS release into the cache (`cacheDir()`), from an unpacked folder, from a release
 * archive, or downloaded from the CRS project's GitHub releases. The pinned release is verified by a digest of the
 * files the engine loads (rules/ and crs-setup.conf.example), so a folder, an archive and a download of the same
 * release all check against one value; any difference is refused.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { cacheDir, isCrsRelease, PINNED_CRS_VERSION } from './crs.js';

/**
 * Digest of rules/ and crs-setup.conf.example of OWASP CRS v4.28.0 (see `crsTreeDigest`), computed from the
 * release this project's regression suite runs against.
 */
export const PINNED_CRS_DIGEST = 'cd1c1647f9da677f09bd833392ab5fc3b3e5b701e79998683cb65091b838e807';

export function releaseUrl(version: string): string {
  return `https://github.com/coreruleset/coreruleset/archive/refs/tags/v${version}.tar.gz`;
}

/** SHA-256 over the sorted list of `path NUL sha256(content)` lines of the files the engine reads. */
export function crsTreeDigest(dir: string): string {
  const files: string[] = [join(dir, 'crs-setup.conf.example')];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(join(dir, 'rules'));
  const lines = files
    .map(
      (f) => `${relative(dir, f).split('\\').join('/')}\0${createHash('sha256').update(readFileSync(f)).digest('hex')}`,
    )
    .sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** The version a release folder says it is, from the `ver:'OWASP_CRS/x.y.z'` of its initialization rules. */
export function crsVersionOf(dir: string): string | undefined {
  const text = readFileSync(join(dir, 'rules', 'REQUEST-901-INITIALIZATION.conf'), 'utf8');
  return /ver:'OWASP_CRS\/(\d+\.\d+\.\d+)'/.exec(text)?.[1];
}

export interface InstallOptions {
  readonly version?: string;
  /** An unpacked release folder, or a `.tar.gz` release archive. */
  readonly from?: string;
  /** Where to install; default `cacheDir(version)`. */
  readonly dest?: string;
  /** Seconds to wait for a download. */
  readonly timeoutSeconds?: number;
}

export type InstallResult =
  | { ok: true; dir: string; version: string; digest: string; verified: boolean }
  | { ok: false; code: 'BWK_ERR_CRS_INSTALL'; message: string };

const fail = (message: string): InstallResult => ({ ok: false, code: 'BWK_ERR_CRS_INSTALL', message });

export async function installCrs(options: InstallOptions = {}): Promise<InstallResult> {
  const version = options.version ?? PINNED_CRS_VERSION;
  if (!/^\d+\.\d+\.\d+$/.test(version)) return fail(`--version ${version}: expected a release number like 4.28.0`);
  const dest = resolve(options.dest ?? cacheDir(version));
  const work = mkdtempSync(join(tmpdir(), 'bulwark-crs-'));
  try {
    let source: string | undefined;
    if (options.from !== undefined) {
      const from = resolve(options.from);
      if (!existsSync(from)) return fail(`--from ${from}: no such file or folder`);
      if (statSync(from).isDirectory()) source = from;
      else {
        const unpacked = unpack(from, work);
        if (typeof unpacked !== 'string') return unpacked;
        source = unpacked;
      }
    } else {
      const archive = join(work, `crs-${version}.tar.gz`);
      const url = releaseUrl(version);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout((options.timeoutSeconds ?? 60) * 1000) });
        if (!res.ok) return fail(`downloading ${url}: HTTP ${res.status}`);
        writeFileSync(archive, Buffer.from(await res.arrayBuffer()));
      } catch (err) {
        return fail(`downloading ${url}: ${(err as Error).message}${causeOf(err)}`);
      }
      const unpacked = unpack(archive, work);
      if (typeof unpacked !== 'string') return unpacked;
      source = unpacked;
    }
    if (!isCrsRelease(source)) {
      return fail(
        `${source} is not a CRS release (expected rules/REQUEST-901-INITIALIZATION.conf and crs-setup.conf.example)`,
      );
    }
    const found = crsVersionOf(source);
    if (found !== version) return fail(`${source} holds CRS ${found ?? 'of an unknown version'}, not ${version}`);
    const digest = crsTreeDigest(source);
    const verified = version === PINNED_CRS_VERSION;
    if (verified && digest !== PINNED_CRS_DIGEST) {
      return fail(
        `${source}: its rules differ from the pinned CRS ${version} release (digest ${digest}, expected ${PINNED_CRS_DIGEST}); refusing to install modified rules`,
      );
    }
    // Copy beside the destination, then rename: a reader never sees half a release.
    mkdirSync(dirname(dest), { recursive: true });
    const staging = `${dest}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    cpSync(join(source, 'rules'), join(staging, 'rules'), { recursive: true });
    for (const f of ['crs-setup.conf.example', 'LICENSE']) {
      if (existsSync(join(source, f))) cpSync(join(source, f), join(staging, f));
    }
    rmSync(dest, { recursive: true, force: true });
    renameSync(staging, dest);
    return { ok: true, dir: dest, version, digest, verified };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Unpacks a release archive with the system's tar and returns the release folder inside it. */
function unpack(archive: string, work: string): string | InstallResult {
  const out = join(work, 'unpacked');
  mkdirSync(out, { recursive: true });
  const r = spawnSync('tar', ['-xzf', archive, '-C', out], { encoding: 'utf8' });
  if (r.status !== 0)
    return fail(`${archive}: tar could not unpack it (${(r.stderr || r.error?.message || '').trim()})`);
  if (isCrsRelease(out)) return out;
  for (const name of readdirSync(out)) {
    const candidate = join(out, name);
    if (statSync(candidate).isDirectory() && isCrsRelease(candidate)) return candidate;
  }
  return fail(`${archive}: no CRS release inside (expected a folder with rules/ and crs-setup.conf.example)`);
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause ? ` (${cause.code ?? cause.message})` : '';
}
