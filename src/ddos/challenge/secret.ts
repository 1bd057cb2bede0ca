/**
 * Where the HMAC secret comes from. With `secret_file`, every process that reads the file signs alike (share it
 * across nodes and restarts). Without it, the node's secret: generated once per process, except that in cluster
 * mode the primary generates it and hands it to each worker over IPC before the worker's first configuration, so
 * a cookie earned on one worker is good on all of them. Secrets are never logged.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BulwarkError } from '../../errors.js';

const MIN_SECRET_BYTES = 32;
let nodeSecret: Buffer | undefined;

/** This node's secret, generated on first use unless the primary has set it. */
export function getNodeSecret(): Buffer {
  nodeSecret ??= randomBytes(32);
  return nodeSecret;
}

/** Cluster workers: take the primary's secret (base64). Ignored when it is too short. */
export function setNodeSecret(base64: string): void {
  const s = Buffer.from(base64, 'base64');
  if (s.length >= MIN_SECRET_BYTES) nodeSecret = s;
}

/** Reads a secret file at load time; the config is refused when it is missing or too short. */
export function readSecretFile(file: string, baseDir: string): Buffer {
  const path = resolve(baseDir, file);
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (e) {
    throw new BulwarkError('BWK_ERR_CHALLENGE_SECRET', `challenge secret_file ${path}: ${(e as Error).message}`);
  }
  // A trailing newline from `openssl rand -base64 48 > file` is not part of the secret.
  const secret = Buffer.from(text.toString('latin1').trim(), 'latin1');
  if (secret.length < MIN_SECRET_BYTES)
    throw new BulwarkError(
      'BWK_ERR_CHALLENGE_SECRET',
      `challenge secret_file ${path} holds ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed (e.g. openssl rand -base64 48)`,
    );
  return secret;
}
