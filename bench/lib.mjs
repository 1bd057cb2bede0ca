// Helpers shared by the bench suites: free ports, child processes that die with the run, readiness, wrk runs,
// Debian installs and the results file.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Installs Debian packages when a command is missing (the bench, not the tests, needs them). */
export function ensureDebian(command, packages) {
  if (spawnSync('which', [command]).status === 0) return;
  console.log(`bench: installing ${packages.join(' ')} from Debian packages`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit' });
}

const children = [];
let stopping = false;

export function start(command, args, name) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  child.on('exit', (code) => {
    if (code && !stopping) console.error(`bench: ${name} exited ${code}\n${err}`);
  });
  children.push(child);
  return child;
}

export function stopAll() {
  stopping = true;
  for (const c of children) c.kill('SIGKILL');
}
process.on('SIGINT', () => (stopAll(), process.exit(130)));

/** Waits until the URL answers with one of the statuses. */
export async function waitUp(url, statuses = [200]) {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (statuses.includes(r.status)) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

export function wrk(url, seconds, script, connections = 64) {
  const args = ['-t', '2', '-c', String(connections), '-d', `${seconds}s`, '--latency'];
  if (script) args.push('-s', script);
  args.push(url);
  const out = execFileSync('wrk', args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = p99 ? Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2]] : NaN;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1];
  return { rps, p99ms, requests, errors: Number(errors), socketErrors };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** `abc1234` or `abc1234+changes` when src has uncommitted edits. */
export function commitLabel() {
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout.trim();
  return commit + (dirty ? '+changes' : '');
}

/** Puts an entry at the top of a suite's results in docs/benchmarks.md (below its marker). */
export function recordEntry(marker, entry) {
  const file = 'docs/benchmarks.md';
  const doc = readFileSync(file, 'utf8');
  if (!doc.includes(marker)) throw new Error(`${file} has no "${marker}" marker`);
  writeFileSync(file, doc.replace(marker, `${marker}\n\n${entry}`));
  console.log(`bench: recorded in ${file}`);
}

/**
 * Writes the bulwark.yaml every suite starts from: `workers` workers with kernel spreading (wrk is one client
 * address; the default client_hash would give all of it to one worker while the baselines use both), the access log
 * on, one pool `origin`; `rest` adds the suite's own top-level keys and routes. Returns the file's path.
 */
export function writeBulwarkConfig(dir, { workers, port, adminPort, originPort, rest }) {
  const file = join(dir, 'bulwark.yaml');
  writeFileSync(
    file,
    `workers: ${workers}
workers_balance: kernel
listeners: [{ name: public, address: "127.0.0.1:${port}" }]
admin: { address: "127.0.0.1:${adminPort}" }
log: { level: warn, access: { enabled: true, destination: "${join(dir, 'access.log')}" } }
pools: { origin: { origins: [{ url: "http://127.0.0.1:${originPort}" }] } }
${rest}`,
  );
  return file;
}
