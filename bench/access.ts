/**
 * What enforcement costs (issue 11 "Speed"): `lookup-self` and service-token logins at c16 through
 * two hosts on one Azurite in one run — the app as built, and the same app with the bench-only
 * preload `bench/no-acl.ts`, which resolves every policy set to the root ACL (no policy cache, no ACL
 * decision) — measured in alternating rounds so both see the machine in the same state. Logins are
 * an unauthenticated path, so they should not move; lookup-self is a token check plus the decision.
 *
 * `bench/run.ts` calls `benchAccess()`; `node dist/bench/access.js` runs it alone.
 */
import path from 'node:path';
import { loginTokens, measureOverHttp, pooled, send, startAppStack, vaultWrite, type AppStack, type LoadResult } from './stack';
import { runStandalone, type BenchRow } from './rows';

const CONCURRENCY = 16;
const RUNS = 2;

interface Prepared {
  readonly stack: AppStack;
  readonly tokens: string[];
  readonly loginBody: string;
}

/** A configured azure mount, a role whose tokens carry 5 policies of 20 rules, and 16 login tokens. */
async function prepare(stack: AppStack): Promise<Prepared> {
  const policies: string[] = [];
  for (let i = 0; i < 5; i++) {
    const name = `bench-${i}`;
    const blocks = Array.from({ length: 20 }, (_, j) => `path "kv/data/team-${i}/app-${j}/*" { capabilities = ["read", "list"] }`);
    await vaultWrite(stack, stack.admin, `sys/policies/acl/${name}`, { policy: blocks.join('\n') });
    policies.push(name);
  }
  const { tokens, login } = await loginTokens(stack, { policies, count: CONCURRENCY });
  return { stack, tokens, loginBody: JSON.stringify(login) };
}

/** What enforcement costs is read from the rates alone, so no process's CPU time is recorded. */
const UNWATCHED: Readonly<Record<string, number>> = {};

async function lookupSelf(p: Prepared): Promise<LoadResult> {
  const url = new URL(`${p.stack.host.url}/v1/auth/token/lookup-self`);
  return measureOverHttp(UNWATCHED, CONCURRENCY, async (agent, i) => (await send(agent, url, 'GET', { 'x-vault-token': p.tokens[i]! })) === 200);
}

async function logins(p: Prepared): Promise<LoadResult> {
  const url = new URL(`${p.stack.host.url}/v1/auth/azure/login`);
  return measureOverHttp(UNWATCHED, CONCURRENCY, async (agent) => (await send(agent, url, 'PUT', {}, p.loginBody)) === 200);
}

export async function benchAccess(): Promise<{ rows: BenchRow[]; ratios: { lookup: number; login: number } }> {
  const preload = path.join(__dirname, 'no-acl.js');
  const enforced = await startAppStack();
  let bare: AppStack | undefined;
  try {
    bare = await startAppStack({ hostNodeOptions: `--require ${preload}` });
    const withAcl = await prepare(enforced);
    const withoutAcl = await prepare(bare);
    const runs = { lookupOn: [] as LoadResult[], lookupOff: [] as LoadResult[], loginOn: [] as LoadResult[], loginOff: [] as LoadResult[] };
    for (let round = 0; round < RUNS; round++) {
      runs.lookupOn.push(await lookupSelf(withAcl));
      runs.lookupOff.push(await lookupSelf(withoutAcl));
      runs.loginOn.push(await logins(withAcl));
      runs.loginOff.push(await logins(withoutAcl));
    }
    const r = (value: number, digits = 0) => Number(value.toFixed(digits));
    const list = (results: readonly LoadResult[]) => results.map((x) => r(x.perSecond)).join(' / ');
    const lookupOn = pooled(runs.lookupOn);
    const lookupOff = pooled(runs.lookupOff);
    const loginOn = pooled(runs.loginOn);
    const loginOff = pooled(runs.loginOff);
    const ratios = { lookup: lookupOn.perSecond / lookupOff.perSecond, login: loginOn.perSecond / loginOff.perSecond };
    return {
      ratios,
      rows: [
        { name: `lookup-self c${CONCURRENCY}, enforced (5 policies × 20 rules + default)`, value: r(lookupOn.perSecond), unit: `req/s (runs ${list(runs.lookupOn)}), p50 ${r(lookupOn.p50, 1)} ms, p99 ${r(lookupOn.p99, 1)} ms` },
        { name: `lookup-self c${CONCURRENCY}, policy cache and ACL decision skipped (bench/no-acl.ts)`, value: r(lookupOff.perSecond), unit: `req/s (runs ${list(runs.lookupOff)}), p50 ${r(lookupOff.p50, 1)} ms, p99 ${r(lookupOff.p99, 1)} ms` },
        { name: `service-token login c${CONCURRENCY}, enforced`, value: r(loginOn.perSecond), unit: `logins/s (runs ${list(runs.loginOn)})` },
        { name: `service-token login c${CONCURRENCY}, ACL skipped`, value: r(loginOff.perSecond), unit: `logins/s (runs ${list(runs.loginOff)})` },
        { name: 'lookup-self enforced / skipped (target ≥ 90%)', value: r(ratios.lookup * 100), unit: '%' },
        { name: 'login enforced / skipped (target ≥ 90%)', value: r(ratios.login * 100), unit: '%' },
      ],
    };
  } finally {
    await bare?.stop();
    await enforced.stop();
  }
}

if (require.main === module) runStandalone(benchAccess);
