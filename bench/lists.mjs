// npm run bench -- lists: load 1,000,000 random IPv4 CIDRs into Bulwark's IpSet and time lookups, with
// node's net.BlockList (a linear scan) as the baseline on a smaller list in the same run.
import { BlockList } from 'node:net';
import { IpSet, parseCidr } from '../dist/lib/ip.js';

let seed = 0x5eed;
const rand = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed;
};
const addr = (n) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const cidrs = (count) => Array.from({ length: count }, () => `${addr(rand())}/${16 + (rand() % 17)}`);
const probes = Array.from({ length: 200_000 }, () => addr(rand()));

function timeLookups(has) {
  let hits = 0;
  const t = process.hrtime.bigint();
  for (const p of probes) if (has(p)) hits++;
  return { usPer: Number(process.hrtime.bigint() - t) / 1e3 / probes.length, hits };
}

export function runListsBench() {
  const big = cidrs(1_000_000);
  const t0 = process.hrtime.bigint();
  const set = new IpSet(big.map(parseCidr));
  const loadS = Number(process.hrtime.bigint() - t0) / 1e9;
  timeLookups((a) => set.has(a)); // warm
  const bulwark = timeLookups((a) => set.has(a));

  const small = cidrs(10_000);
  const list = new BlockList();
  for (const c of small) {
    const [a, p] = c.split('/');
    list.addSubnet(a, Number(p), 'ipv4');
  }
  const smallProbes = probes.slice(0, 2000);
  const t1 = process.hrtime.bigint();
  for (const p of smallProbes) list.check(p, 'ipv4');
  const blockListUs = Number(process.hrtime.bigint() - t1) / 1e3 / smallProbes.length;

  console.log(`bench: lists-load entries=1000000 seconds=${loadS.toFixed(2)}`);
  console.log(
    `bench: lists-lookup bulwark_us=${bulwark.usPer.toFixed(3)} (1,000,000 entries) blocklist_us=${blockListUs.toFixed(1)} (10,000 entries) ratio=${(blockListUs / bulwark.usPer).toFixed(0)}`,
  );
  return { loadS, bulwarkUs: bulwark.usPer, blockListUs };
}
