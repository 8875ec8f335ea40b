/**
 * hvac 0.11.2 (Debian's python3-hvac at /usr/bin/python3) driving the KV engines and sys/mounts over
 * HTTP: the calls of issue 12's list, with `strict_http=True` (the local host cannot receive the LIST
 * verb; see README). What this old hvac sends was checked in its source
 * (/usr/lib/python3/dist-packages/hvac/): enable_secrets_engine sends JSON null for description,
 * config and plugin_name; create_or_update_secret POSTs {"options": {}, "data": …}; patch is a read,
 * a local dict update and a write with cas; update_metadata always sends delete_version_after "0s";
 * configure sends max_versions and delete_version_after; the v1 create_or_update_secret GETs first
 * and then POSTs (absent) or PUTs (present); errors are parsed from a JSON body only when the
 * Content-Type is exactly application/json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { kvEnv, runHvac, uniqueName, type KvEnv } from './kv-support';

let stack: Stack;
let env: KvEnv;
beforeAll(async () => {
  stack = await startStack();
  env = await kvEnv(stack);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

/** Runs a script with `client` (strict_http=True), `loose` (the default client) and helpers in scope. */
function hvac(body: string, vars: Record<string, string>): Record<string, unknown> {
  const script = `
import json, os, sys, warnings
warnings.simplefilter('ignore')
import hvac
client = hvac.Client(url=os.environ['VAULT_ADDR'], token=os.environ['VAULT_TOKEN'], strict_http=True)
loose = hvac.Client(url=os.environ['VAULT_ADDR'], token=os.environ['VAULT_TOKEN'])
out = {'hvac': hvac.__version__ if hasattr(hvac, '__version__') else None}
def status(r):
    return r.status_code if hasattr(r, 'status_code') else 200
def raised(fn):
    try:
        fn()
        return None
    except hvac.exceptions.VaultError as err:
        return {'type': type(err).__name__, 'errors': err.errors, 'text': str(err)}
${body}
print(json.dumps(out))
`;
  const result = runHvac(script, { VAULT_ADDR: stack.url, VAULT_TOKEN: env.root, ...vars });
  expect(result.status, `${result.stderr}\n${result.stdout}`).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe('hvac 0.11.2 and sys/mounts', () => {
  it('enable_secrets_engine (JSON nulls), list_mounted_secrets_engines, disable_secrets_engine', () => {
    const v2 = uniqueName('hv2');
    const v1 = uniqueName('hv1');
    const out = hvac(
      `
m2, m1 = os.environ['M2'], os.environ['M1']
out['enable2'] = status(client.sys.enable_secrets_engine('kv', path=m2, options={'version': '2'}, description='hvac v2'))
out['enable1'] = status(client.sys.enable_secrets_engine('kv', path=m1))
out['enable_again'] = raised(lambda: client.sys.enable_secrets_engine('kv', path=m2))
mounts = client.sys.list_mounted_secrets_engines()
out['listed2'] = mounts['data'][m2 + '/']
out['listed1'] = mounts['data'][m1 + '/']
out['top_level'] = (m2 + '/') in mounts
out['option'] = client.sys.retrieve_mount_option(m2, 'version')
out['disable'] = status(client.sys.disable_secrets_engine(m1))
out['after'] = (m1 + '/') in client.sys.list_mounted_secrets_engines()['data']
out['read_disabled'] = raised(lambda: client.secrets.kv.v1.read_secret('x', mount_point=m1))
`,
      { M2: v2, M1: v1 },
    );
    expect(out.enable2).toBe(204);
    expect(out.enable1).toBe(204);
    expect(out.enable_again).toMatchObject({ type: 'UnexpectedError' }); // 409: hvac has no class for it
    expect(String((out.enable_again as { text: string }).text)).toContain(`path is already in use at ${v2}/`);
    expect(out.listed2).toMatchObject({ type: 'kv', description: 'hvac v2', options: { version: '2' } });
    expect(out.listed1).toMatchObject({ type: 'kv', options: null });
    expect(out.top_level).toBe(true);
    expect(out.option).toBe('2');
    expect(out.disable).toBe(204);
    expect(out.after).toBe(false);
    expect(out.read_disabled).toMatchObject({ type: 'InvalidPath', errors: [`no handler for route "${v1}/x". route entry not found.`] });
  });
});

describe('hvac 0.11.2 secrets.kv.v2', () => {
  it('configure, read_configuration, create_or_update_secret (with cas), read_secret_version, patch, list_secrets, metadata, delete/undelete/destroy', () => {
    const mount = uniqueName('hkv');
    const out = hvac(
      `
m = os.environ['M']
kv = client.secrets.kv.v2
client.sys.enable_secrets_engine('kv', path=m, options={'version': '2'})
out['configure'] = status(kv.configure(max_versions=5, mount_point=m))
out['config'] = kv.read_configuration(mount_point=m)['data']
w1 = kv.create_or_update_secret('app/db', {'password': 'p1', 'port': 5432}, mount_point=m)
out['w1'] = w1['data']
out['w2'] = kv.create_or_update_secret('app/db', {'password': 'p2', 'port': 5432}, cas=1, mount_point=m)['data']['version']
out['stale_cas'] = raised(lambda: kv.create_or_update_secret('app/db', {'password': 'p3'}, cas=1, mount_point=m))
kv.create_or_update_secret('app/web', {'token': 't'}, mount_point=m)
kv.create_or_update_secret('app/sub/x', {'k': 'v'}, mount_point=m)
read = kv.read_secret_version('app/db', mount_point=m)
out['read'] = read['data']
out['read_v1'] = kv.read_secret_version('app/db', version=1, mount_point=m)['data']['data']
out['read_missing'] = raised(lambda: kv.read_secret_version('app/none', mount_point=m))
out['patch'] = kv.patch('app/db', {'extra': 'x'}, mount_point=m)['data']['version']
out['patched'] = kv.read_secret_version('app/db', mount_point=m)['data']['data']
out['patch_missing'] = raised(lambda: kv.patch('app/none', {'a': 'b'}, mount_point=m))
out['list'] = kv.list_secrets('app', mount_point=m)['data']['keys']
out['list_root'] = kv.list_secrets('', mount_point=m)['data']['keys']
out['list_loose'] = raised(lambda: loose.secrets.kv.v2.list_secrets('app', mount_point=m))
out['meta'] = kv.read_secret_metadata('app/db', mount_point=m)['data']
out['update_metadata'] = status(kv.update_metadata('app/db', max_versions=4, cas_required=False, mount_point=m))
out['meta_after'] = kv.read_secret_metadata('app/db', mount_point=m)['data']
out['delete_latest'] = status(kv.delete_latest_version_of_secret('app/db', mount_point=m))
out['read_deleted'] = raised(lambda: kv.read_secret_version('app/db', mount_point=m))
out['undelete'] = status(kv.undelete_secret_versions('app/db', versions=[3], mount_point=m))
out['read_undeleted'] = kv.read_secret_version('app/db', mount_point=m)['data']['metadata']['version']
out['delete_versions'] = status(kv.delete_secret_versions('app/db', versions=[1], mount_point=m))
out['read_v1_deleted'] = raised(lambda: kv.read_secret_version('app/db', version=1, mount_point=m))
out['destroy'] = status(kv.destroy_secret_versions('app/db', versions=[2], mount_point=m))
out['versions'] = kv.read_secret_metadata('app/db', mount_point=m)['data']['versions']
out['delete_all'] = status(kv.delete_metadata_and_all_versions('app/db', mount_point=m))
out['meta_gone'] = raised(lambda: kv.read_secret_metadata('app/db', mount_point=m))
out['list_after'] = kv.list_secrets('app', mount_point=m)['data']['keys']
`,
      { M: mount },
    );
    expect(out.configure).toBe(204);
    expect(out.config).toEqual({ max_versions: 5, cas_required: false, delete_version_after: '0s' });
    expect(out.w1).toMatchObject({ version: 1, destroyed: false, deletion_time: '', custom_metadata: null });
    expect(out.w2).toBe(2);
    expect(out.stale_cas).toMatchObject({ type: 'InvalidRequest', errors: ['check-and-set parameter did not match the current version'] });
    expect(out.read).toMatchObject({ data: { password: 'p2', port: 5432 }, metadata: { version: 2 } });
    expect(out.read_v1).toEqual({ password: 'p1', port: 5432 });
    expect(out.read_missing).toMatchObject({ type: 'InvalidPath', errors: [] });
    expect(out.patch).toBe(3);
    expect(out.patched).toEqual({ password: 'p2', port: 5432, extra: 'x' });
    expect(out.patch_missing).toMatchObject({ type: 'InvalidPath' });
    expect((out.patch_missing as { text: string }).text).toContain('No value found at "app/none"; patch only works on existing data.');
    expect(out.list).toEqual(['db', 'sub/', 'web']);
    expect(out.list_root).toEqual(['app/']);
    // Without strict_http, hvac sends the LIST verb: the local host answers a clear 400 (README).
    expect(out.list_loose).toMatchObject({ type: 'InvalidRequest' });
    expect(JSON.stringify(out.list_loose)).toContain('strict_http=True');
    expect(out.meta).toMatchObject({ current_version: 3, max_versions: 0, delete_version_after: '0s' });
    expect(out.update_metadata).toBe(204);
    expect(out.meta_after).toMatchObject({ max_versions: 4, cas_required: false, delete_version_after: '0s' });
    expect(out.delete_latest).toBe(204);
    // A deleted version: 404 with the envelope body; hvac 0.11.2 raises InvalidPath without errors.
    expect(out.read_deleted).toMatchObject({ type: 'InvalidPath', errors: null });
    expect(out.undelete).toBe(204);
    expect(out.read_undeleted).toBe(3);
    expect(out.delete_versions).toBe(204);
    expect(out.read_v1_deleted).toMatchObject({ type: 'InvalidPath' });
    expect(out.destroy).toBe(204);
    const versions = out.versions as Record<string, { destroyed: boolean; deletion_time: string }>;
    expect(versions['1']!.deletion_time).not.toBe('');
    expect(versions['2']!.destroyed).toBe(true);
    expect(versions['3']).toMatchObject({ destroyed: false, deletion_time: '' });
    expect(out.delete_all).toBe(204);
    expect(out.meta_gone).toMatchObject({ type: 'InvalidPath', errors: [] });
    expect(out.list_after).toEqual(['sub/', 'web']);
  });
});

describe('hvac 0.11.2 secrets.kv.v1', () => {
  it('create_or_update_secret (GET, then POST or PUT), read_secret with lease_duration, list_secrets, delete_secret', () => {
    const mount = uniqueName('hkv1');
    const out = hvac(
      `
m = os.environ['M']
kv = client.secrets.kv.v1
client.sys.enable_secrets_engine('kv', path=m, options={'version': '1'}, config={'default_lease_ttl': '30m'})
out['create'] = status(kv.create_or_update_secret('app/db', {'password': 'p1', 'ttl': '1h'}, mount_point=m))
out['update'] = status(kv.create_or_update_secret('app/db', {'password': 'p2', 'ttl': '1h'}, mount_point=m))
kv.create_or_update_secret('app/web', {'token': 't'}, mount_point=m)
r = kv.read_secret('app/db', mount_point=m)
out['read'] = {'data': r['data'], 'lease_duration': r['lease_duration'], 'lease_id': r['lease_id'], 'renewable': r['renewable']}
out['read_web_lease'] = kv.read_secret('app/web', mount_point=m)['lease_duration']
out['list'] = kv.list_secrets('app', mount_point=m)['data']['keys']
out['delete'] = status(kv.delete_secret('app/db', mount_point=m))
out['read_gone'] = raised(lambda: kv.read_secret('app/db', mount_point=m))
out['list_after'] = kv.list_secrets('app', mount_point=m)['data']['keys']
`,
      { M: mount },
    );
    expect(out.create).toBe(204);
    expect(out.update).toBe(204);
    expect(out.read).toEqual({ data: { password: 'p2', ttl: '1h' }, lease_duration: 3600, lease_id: '', renewable: false });
    expect(out.read_web_lease).toBe(1800);
    expect(out.list).toEqual(['db', 'web']);
    expect(out.delete).toBe(204);
    expect(out.read_gone).toMatchObject({ type: 'InvalidPath', errors: [] });
    expect(out.list_after).toEqual(['web']);
  });

  it('the v1 create_or_update_secret picks POST then PUT: the requests reach the engine as create, then update', () => {
    // A token with create but not update: hvac's first write (POST, new key) passes, its second (PUT) is denied.
    const mount = uniqueName('hkv1c');
    const out = hvac(
      `
m = os.environ['M']
client.sys.enable_secrets_engine('kv', path=m, options={'version': '1'})
client.sys.create_or_update_policy('creator-' + m, 'path "%s/*" { capabilities = ["create", "read"] }' % m)
token = client.auth.token.create(policies=['creator-' + m], ttl='1h')['auth']['client_token']
limited = hvac.Client(url=os.environ['VAULT_ADDR'], token=token, strict_http=True)
out['first'] = status(limited.secrets.kv.v1.create_or_update_secret('k', {'a': 'b'}, mount_point=m))
out['second'] = raised(lambda: limited.secrets.kv.v1.create_or_update_secret('k', {'a': 'c'}, mount_point=m))
out['value'] = client.secrets.kv.v1.read_secret('k', mount_point=m)['data']
`,
      { M: mount },
    );
    expect(out.first).toBe(204);
    expect(out.second).toMatchObject({ type: 'Forbidden' });
    expect(out.value).toEqual({ a: 'b' });
  });
});
