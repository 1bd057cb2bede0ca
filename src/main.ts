#!/usr/bin/env node
/**
 * The bulwark command.
 *   bulwark [start] [-c bulwark.yaml]   run the gateway (the embedded default when no file is given)
 *   bulwark check -c bulwark.yaml       validate a file: every problem with file:line:col, exit 0 or 1
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { formatProblem, DEFAULT_CONFIG_YAML } from './config/index.js';
import { loadConfigFile, sectionOf, type Config } from './bulwark-config.js';
import { configureProcessLogger, log } from './observability/index.js';
import { fileReloader, runPrimary, runWorker, startSingle } from './process/index.js';
import { installCrs, locateCrs, PINNED_CRS_VERSION, type WafConfig } from './waf/index.js';

const USAGE = `usage:
  bulwark [start] [-c FILE]     run the gateway; without -c, the embedded default
                                (data plane http://127.0.0.1:8080, admin http://127.0.0.1:9901; its
                                reads need $BULWARK_ADMIN_READ_TOKEN, made and printed when unset)
  bulwark check -c FILE         validate FILE and print every problem; exit 0 when valid, 1 otherwise
  bulwark default-config        print the embedded default configuration
  bulwark crs install [--version V] [--from DIR|ARCHIVE] [--dest DIR]
                                install an OWASP CRS release into the cache (default: the pinned
                                ${PINNED_CRS_VERSION}, downloaded from github.com and verified)
  bulwark crs where             print the CRS release the gateway would use
  bulwark --version`;

async function main(argv: string[]): Promise<number> {
  if (cluster.isWorker) {
    runWorker();
    return -1;
  }
  if (argv[0] === 'crs') return crsCommand(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  const command = positionals[0] ?? 'start';
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    const { createRequire } = await import('node:module');
    console.log((createRequire(import.meta.url)('../package.json') as { version: string }).version);
    return 0;
  }
  const configPath = values.config ?? process.env.BULWARK_CONFIG;

  if (command === 'default-config') {
    process.stdout.write(DEFAULT_CONFIG_YAML);
    return 0;
  }
  if (command === 'check') {
    if (!configPath) {
      console.error('bulwark check: give the file with -c FILE');
      return 2;
    }
    const r = loadConfigFile(configPath);
    if (r.ok) {
      console.log(`${configPath}: ok`);
      return 0;
    }
    for (const p of r.problems) console.error(formatProblem(p));
    console.error(`${configPath}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`);
    return 1;
  }
  if (command !== 'start') {
    console.error(`bulwark: unknown command "${command}"\n${USAGE}`);
    return 2;
  }

  if (configPath === undefined) defaultReadToken(process.env);
  const r = loadConfigFile(configPath);
  if (!r.ok) {
    for (const p of r.problems) console.error(formatProblem(p));
    console.error('bulwark: the configuration has problems; nothing was started');
    return 1;
  }
  if (!(await crsReady(r.loaded.config, r.loaded.baseDir))) return 1;
  const loaded = r.loaded;
  configureProcessLogger(loaded.config.log);
  const reloadFrom = fileReloader(configPath);
  const workers = loaded.config.workers ?? 'auto';
  const count = workers === 'auto' ? availableParallelism() : workers;
  if (count === 0) {
    const node = await startSingle(loaded, reloadFrom);
    const reloadSingle = async () => {
      const next = reloadFrom();
      if (!next.ok) return;
      try {
        await node.reload(next.loaded);
      } catch (e) {
        log().error({ err: e }, 'reload refused');
      }
    };
    process.on('SIGHUP', () => void reloadSingle());
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log().info({ signal }, 'draining');
      void node.close().then(() => {
        log().info('stopped');
        log().flush();
        setTimeout(() => process.exit(0), 50);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  } else {
    await runPrimary(loaded, count, reloadFrom);
  }
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    const err = e as Error & { code?: string };
    console.error(`bulwark: ${err.code ? `${err.code}: ` : ''}${err.message}`);
    process.exit(1);
  },
);

/**
 * The embedded default reads the admin API's read token from $BULWARK_ADMIN_READ_TOKEN. A first run on a fresh
 * machine has none: make one for this run and print it once, on the terminal rather than in the process log, so
 * the quick start's curl of /v1/events works; the workers (and reloads) read the same variable.
 */
function defaultReadToken(env: NodeJS.ProcessEnv): void {
  if (env.BULWARK_ADMIN_READ_TOKEN) return;
  env.BULWARK_ADMIN_READ_TOKEN = randomBytes(18).toString('base64url');
  console.error(
    `bulwark: admin API read token for this run: ${env.BULWARK_ADMIN_READ_TOKEN}\n` +
      '         (curl -H "Authorization: Bearer <token>" http://127.0.0.1:9901/v1/events; ' +
      'export BULWARK_ADMIN_READ_TOKEN to choose your own)',
  );
}

async function crsCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { version: { type: 'string' }, from: { type: 'string' }, dest: { type: 'string' } },
    });
  } catch (err) {
    console.error(`bulwark crs: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const sub = parsed.positionals[0];
  if (sub === 'where') {
    const where = locateCrs(undefined, process.cwd());
    if (!where.ok) {
      console.error(where.message);
      return 1;
    }
    console.log(where.dir);
    return 0;
  }
  if (sub !== 'install') {
    console.error(`bulwark crs: expected "install" or "where"\n${USAGE}`);
    return 2;
  }
  const { version, from, dest } = parsed.values;
  const r = await installCrs({ version, from, dest });
  if (!r.ok) {
    console.error(`bulwark crs install: ${r.message}`);
    return 1;
  }
  const check = r.verified
    ? 'verified against the pinned digest'
    : 'not verified: Bulwark pins only ' + PINNED_CRS_VERSION;
  console.log(`crs: installed OWASP CRS v${r.version} into ${r.dir} (digest ${r.digest}, ${check})`);
  return 0;
}

/**
 * When the configuration runs the WAF on CRS and names no folder, and none is found where Bulwark looks, the
 * pinned release is downloaded into the cache once; without network, the message says exactly what to run.
 */
async function crsReady(config: Config, baseDir: string): Promise<boolean> {
  const usesWaf = (config.routes ?? []).some((route) => route.stages?.waf !== undefined);
  const crs = sectionOf<WafConfig>(config, 'waf')?.crs;
  if (!usesWaf || crs?.enabled === false || crs?.dir !== undefined) return true;
  if (locateCrs(undefined, baseDir).ok) return true;
  console.error(`bulwark: no OWASP CRS release found; downloading v${PINNED_CRS_VERSION} into the cache`);
  const r = await installCrs({ timeoutSeconds: 60 });
  if (r.ok) {
    console.error(`bulwark: installed OWASP CRS v${r.version} into ${r.dir} (verified)`);
    return true;
  }
  const where = locateCrs(undefined, baseDir);
  console.error(`bulwark: ${r.message}`);
  if (!where.ok) console.error(`bulwark: ${where.message}`);
  console.error('bulwark: nothing was started');
  return false;
}
