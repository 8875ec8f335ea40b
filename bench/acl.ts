/**
 * ACL decision micro-benchmark (issue 11 "Speed"): one `Acl.allowOperation` for a token carrying 20
 * policies of 20 rules each, median and p99 in µs, and what building that ACL costs.
 *
 * `bench/run.ts` can call `benchAcl()` and print its rows; `node dist/bench/acl.js` runs it alone.
 * Pure CPU in this process, no I/O. The rules are a realistic mix per policy: 8 exact, 6 prefix,
 * 4 `+` rules, 2 with parameter constraints (token creation with allowed and denied policies). The
 * requests cycle through exact hits, prefix hits, LIST with a trailing slash, `+` hits, parameter
 * checks and misses (a miss is the slowest case: every `+` rule is tried before the default deny).
 */
import { performance } from 'node:perf_hooks';
import { Acl, type AclRequest } from '../shared/policies/acl';
import { parsePolicy } from '../shared/policies/parse';
import type { ParsedPolicy } from '../shared/policies/types';
import { percentile } from './percentile';
import { runStandalone, type BenchRow } from './rows';

const POLICIES = 20;
const WARMUP_CALLS = 200_000;
const TIMED_CALLS = 200_000;
const BUILDS = 200;

/** Policy `i`: 20 path blocks in HCL, as an operator would write them. */
export function benchPolicyText(i: number): string {
  const blocks: string[] = [];
  for (let j = 0; j < 8; j++) blocks.push(`path "kv/data/team-${i}/app-${j}" {\n  capabilities = ["read", "update"]\n}`);
  for (let j = 0; j < 6; j++) blocks.push(`path "kv/metadata/team-${i}/svc-${j}/*" {\n  capabilities = ["read", "list"]\n}`);
  for (let j = 0; j < 2; j++) blocks.push(`path "auth/+/role/team-${i}-${j}" {\n  capabilities = ["read"]\n}`);
  for (let j = 0; j < 2; j++) blocks.push(`path "kv/data/+/shared-${i}-${j}/*" {\n  capabilities = ["read"]\n}`);
  for (let j = 0; j < 2; j++) {
    blocks.push(
      `path "auth/token/create/team-${i}-${j}" {\n  capabilities = ["update"]\n  allowed_parameters = {\n    "policies" = ["team-${i}-*", "default"]\n    "ttl" = []\n  }\n  denied_parameters = { "token_policies" = ["root", "admin"] }\n}`,
    );
  }
  return `${blocks.join('\n\n')}\n`;
}

/** The request mix, cycled through in order. */
export function benchRequests(): AclRequest[] {
  const requests: AclRequest[] = [];
  for (let i = 0; i < POLICIES; i += 3) {
    requests.push({ path: `kv/data/team-${i}/app-3`, operation: 'read' }); // exact hit
    requests.push({ path: `kv/data/team-${i}/app-4`, operation: 'delete' }); // exact, capability missing
    requests.push({ path: `kv/metadata/team-${i}/svc-2/db/primary`, operation: 'read' }); // prefix hit
    requests.push({ path: `kv/metadata/team-${i}/svc-5/`, operation: 'list' }); // LIST, trailing slash
    requests.push({ path: `auth/azure/role/team-${i}-1`, operation: 'read' }); // + hit
    requests.push({ path: `kv/data/ops/shared-${i}-0/creds`, operation: 'read' }); // + prefix hit
    requests.push({ path: `auth/token/create/team-${i}-0`, operation: 'update', data: { policies: `team-${i}-reader,default`, ttl: '1h' } });
    requests.push({ path: `auth/token/create/team-${i}-1`, operation: 'update', data: { policies: 'admin' } }); // parameter denies
    requests.push({ path: `sys/policies/acl/team-${i}`, operation: 'update' }); // miss: default deny
  }
  return requests;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

export interface AclBench {
  readonly rows: BenchRow[];
  /** One decision's median and p99 in µs, as the rows show them (bench/run.ts reports them as a target). */
  readonly decisionMicros: { readonly median: number; readonly p99: number };
}

export async function benchAcl(): Promise<AclBench> {
  const texts = Array.from({ length: POLICIES }, (_, i) => benchPolicyText(i));
  // The first parse also loads the parser (1.6 MB of GopherJS output) and warms it up.
  let started = performance.now();
  let parsed: ParsedPolicy[] = [parsePolicy(texts[0] ?? '')];
  const firstParseMs = performance.now() - started;
  parsed = texts.map((text) => parsePolicy(text));
  started = performance.now();
  parsed = texts.map((text) => parsePolicy(text));
  const parseMs = (performance.now() - started) / POLICIES;
  const policies = parsed.map((p, i) => ({ name: `team-${i}`, rules: p.rules }));

  const buildTimes = new Float64Array(BUILDS);
  let acl = Acl.build(policies);
  for (let b = 0; b < BUILDS; b++) {
    const started = process.hrtime.bigint();
    acl = Acl.build(policies);
    buildTimes[b] = Number(process.hrtime.bigint() - started) / 1000;
  }
  buildTimes.sort();

  const requests = benchRequests();
  let allowedCount = 0;
  for (let n = 0; n < WARMUP_CALLS; n++) if (acl.allowOperation(requests[n % requests.length]!).allowed) allowedCount++;

  // Each call timed on its own (for the p99), next to the cost of reading the clock twice.
  const times = new Float64Array(TIMED_CALLS);
  const clock = new Float64Array(TIMED_CALLS);
  for (let n = 0; n < TIMED_CALLS; n++) {
    const request = requests[n % requests.length]!;
    const a = process.hrtime.bigint();
    if (acl.allowOperation(request).allowed) allowedCount++;
    const b = process.hrtime.bigint();
    const c = process.hrtime.bigint();
    times[n] = Number(b - a) / 1000;
    clock[n] = Number(c - b) / 1000;
  }
  times.sort();
  clock.sort();

  // The mean without per-call clock reads: one clock around many calls.
  const batchStarted = process.hrtime.bigint();
  for (let n = 0; n < TIMED_CALLS; n++) if (acl.allowOperation(requests[n % requests.length]!).allowed) allowedCount++;
  const meanMicros = Number(process.hrtime.bigint() - batchStarted) / 1000 / TIMED_CALLS;

  const mix = `${requests.length}-request mix`;
  const decisionMicros = { median: round(percentile(times, 50), 2), p99: round(percentile(times, 99), 2) };
  return {
    decisionMicros,
    rows: [
      { name: `ACL decision (allowOperation), ${POLICIES} policies × 20 rules, ${mix}: median`, value: decisionMicros.median, unit: 'µs' },
      { name: `ACL decision: p99`, value: decisionMicros.p99, unit: 'µs' },
      { name: `ACL decision: mean over ${TIMED_CALLS} calls, one clock around them all`, value: round(meanMicros, 3), unit: 'µs' },
      { name: 'clock read (process.hrtime.bigint), included in the median and p99 above: median', value: round(percentile(clock, 50), 3), unit: 'µs' },
      { name: `ACL build (Acl.build) of ${POLICIES} × 20 parsed rules: median of ${BUILDS}`, value: round(percentile(buildTimes, 50), 1), unit: 'µs' },
      { name: 'ACL build: p99', value: round(percentile(buildTimes, 99), 1), unit: 'µs' },
      { name: `policy parse (parsePolicy) of one 20-rule policy (${texts[0]?.length ?? 0} bytes), warm: mean of ${POLICIES}`, value: round(parseMs, 2), unit: 'ms' },
      { name: 'policy parse: the first one in the process (loads the parser)', value: round(firstParseMs, 1), unit: 'ms' },
      { name: 'requests allowed in the run (sanity: the mix is not all denials)', value: allowedCount, unit: 'decisions' },
    ],
  };
}

if (require.main === module) runStandalone(benchAcl);
