#!/usr/bin/env node
/**
 * The bulwark command.
 *   bulwark [start] [-c bulwark.yaml]   run the gateway (the embedded default when no file is given)
 *   bulwark check -c bulwark.yaml       validate a file: every problem with file:line:col, exit 0 or 1
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { formatProblem, loadConfigFile, DEFAULT_CONFIG_YAML } from './config/index.js';
import { configureProcessLogger, log } from './observability/index.js';
import { fileReloader, runPrimary, runWorker, startSingle } from './process/index.js';

const USAGE = `usage:
  bulwark [start] [-c FILE]     run the gateway; without -c, the embedded default
                                (data plane http://127.0.0.1:8080, admin http://127.0.0.1:9901)
  bulwark check -c FILE         validate FILE and print every problem; exit 0 when valid, 1 otherwise
  bulwark default-config        print the embedded default configuration
  bulwark --version`;

async function main(argv: string[]): Promise<number> {
  if (cluster.isWorker) {
    runWorker();
    return -1;
  }
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

  const r = loadConfigFile(configPath);
  if (!r.ok) {
    for (const p of r.problems) console.error(formatProblem(p));
    console.error('bulwark: the configuration has problems; nothing was started');
    return 1;
  }
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
