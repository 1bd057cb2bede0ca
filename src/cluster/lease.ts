/**
 * The shared budget of a cluster-wide rate limit: a token bucket per key in Redis (a hash of tokens and the time
 * they were counted), refilled at the rule's rate up to its burst. A node takes a lease of up to `want` tokens in
 * one atomic script call and spends them locally, so Redis sees one call per lease, not one per request.
 *
 * The script reads the clock of Redis (TIME), not of the nodes, so nodes with skewed clocks share one timeline.
 * It needs Redis 5 or later (scripts replicate their effects, so TIME may precede writes).
 */
import type { Redis } from 'ioredis';

const LEASE_LUA = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
elseif now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
end
local grant = math.min(want, math.floor(tokens))
tokens = tokens - grant
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
local waitOne = 0
local waitLease = 0
if tokens < 1 then waitOne = math.ceil((1 - tokens) / rate) end
if tokens < want then waitLease = math.ceil((want - tokens) / rate) end
return { grant, waitOne, waitLease }
`;

export interface LeaseReply {
  /** Tokens granted now, 0 to `want`. */
  readonly grant: number;
  /** Milliseconds until the shared bucket holds one token (the Retry-After of a refusal). */
  readonly waitOneMs: number;
  /** Milliseconds until it holds a whole lease: until then the node refuses without asking again. */
  readonly waitLeaseMs: number;
}

interface LeaseCommand {
  bulwarkLease(key: string, ratePerMs: string, burst: string, want: string): Promise<[number, number, number]>;
}

/** Registers the script on a connection once; ioredis sends EVALSHA and reloads the script after NOSCRIPT. */
export function defineLease(client: Redis): void {
  if ('bulwarkLease' in client) return;
  client.defineCommand('bulwarkLease', { numberOfKeys: 1, lua: LEASE_LUA });
}

export async function lease(client: Redis, key: string, ratePerMs: string, burst: string, want: string) {
  const [grant, waitOneMs, waitLeaseMs] = await (client as unknown as LeaseCommand).bulwarkLease(
    key,
    ratePerMs,
    burst,
    want,
  );
  return { grant, waitOneMs, waitLeaseMs } satisfies LeaseReply;
}

/**
 * Tokens per lease: at most `lease` (config), at most a tenth of the burst so that ten nodes holding unspent
 * leases hold no more than one burst, and at least 1.
 */
export function leaseSize(burst: number, lease: number): number {
  return Math.max(1, Math.min(lease, Math.floor(burst / 10)));
}
