/**
 * Bench-only preload (`NODE_OPTIONS=--require dist/bench/no-acl.js` for the host of the "without
 * enforcement" case): every token's policy set resolves to the root ACL without touching the policy
 * store, so requests skip the policy cache and the ACL decision while everything else (token
 * resolution, use counting, audit) runs as in production. It exists only so that one benchmark run
 * can measure what enforcement costs; the app itself has no switch that turns authorization off.
 */
import path from 'node:path';
import { Acl } from '../shared/policies/acl';
import { PolicyStore } from '../shared/policies/store';

// The app loads the same compiled files from dist/, so this patches the class it uses.
const expected = path.resolve(__dirname, '..', 'shared', 'policies', 'store.js');
if (require.resolve('../shared/policies/store') !== expected) throw new Error('no-acl preload: unexpected module layout');
PolicyStore.prototype.aclFor = async function aclForRoot(): Promise<Acl> {
  return Acl.ROOT;
};
