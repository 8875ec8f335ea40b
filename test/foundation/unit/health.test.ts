import { describe, expect, it } from 'vitest';
import { clusterIdentity, healthAnswer, productVersion } from '../../../shared/system/health';
import { VaultError } from '../../../shared/vault/errors';

const ID = { version: '1.2.3', clusterName: 'c', clusterId: 'id' };
const NOW = new Date('2026-01-01T00:00:00Z');

describe('healthAnswer', () => {
  it('answers an active, unsealed node', () => {
    const answer = healthAnswer({}, ID, NOW);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      initialized: true,
      sealed: false,
      standby: false,
      performance_standby: false,
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      server_time_utc: 1767225600,
      version: '1.2.3',
      enterprise: false,
      cluster_name: 'c',
      cluster_id: 'id',
    });
  });

  it('uses activecode, and parses but does not need the others', () => {
    expect(healthAnswer({ activecode: '204' }, ID, NOW).status).toBe(204);
    expect(healthAnswer({ standbyok: 'true', sealedcode: '200', uninitcode: '299', standbycode: '200', perfstandbyok: '1' }, ID, NOW).status).toBe(200);
  });

  it.each([
    [{ standbyok: 'maybe' }, /bad value for standbyok/],
    [{ perfstandbyok: 'x' }, /bad value for perfstandbyok/],
    [{ activecode: 'abc' }, /bad value for activecode/],
    [{ sealedcode: '99' }, /bad value for sealedcode/],
    [{ standbycode: '1000' }, /bad value for standbycode/],
    [{ drsecondarycode: '2.5' }, /bad value for drsecondarycode/],
    [{ performancestandbycode: '' }, /bad value for performancestandbycode/],
    [{ uninitcode: '-200' }, /bad value for uninitcode/],
  ])('refuses %j with 400', (query, message) => {
    try {
      healthAnswer(query, ID, NOW);
      expect.unreachable();
    } catch (err) {
      expect((err as VaultError).status).toBe(400);
      expect((err as VaultError).errors[0]).toMatch(message);
    }
  });
});

describe('identity', () => {
  it('reads the package version', () => {
    expect(productVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('derives a stable cluster id from the storage account, not the key', () => {
    const a = clusterIdentity({ AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=k1' });
    const b = clusterIdentity({ AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=k2' });
    const c = clusterIdentity({ AzureWebJobsStorage__accountName: 'other' });
    expect(a).toEqual(b);
    expect(a.clusterId).not.toBe(c.clusterId);
    expect(a.clusterId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});
