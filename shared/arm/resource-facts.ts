/**
 * What login asks ARM about a resource: the principal ids of its managed identities and its
 * location. Answers are cached per credential and resource for AZAUTH_ARM_CACHE_TTL, and
 * concurrent misses share a single read, so ARM sees about one read per resource per TTL however
 * many logins arrive. A resource that does not exist is cached too (it cannot log in until it does,
 * and a flood of logins naming it must not become a flood of ARM reads).
 *
 * The cache key starts with the session's credential key: a fact read with one mount's credential
 * never approves a login on a mount with another credential (one whose credential cannot read the
 * resource, say a wrong client secret, must keep failing however recently another mount read it).
 *
 * A shared read hears of the logins that join it and passes that on to its retry waits
 * (retry.ts), so a recovered ARM serves waiting logins within about a second.
 */
import { parseArmResourceId, type ArmResourceId } from '../login/arm-id';
import { VaultError } from '../vault/errors';
import { TtlCache, type SharedLoad } from './cache';
import type { ArmIdentity, ArmReader, ArmResourceSnapshot } from './reader';
import { RetryGate } from './retry';

/** One mount's way into ARM: with which credential (for cache keys) and reader (built on first use). */
export interface ArmSession {
  /** The ARM endpoint. */
  readonly endpoint: string;
  /**
   * Names the endpoint, tenant and credential (a digest; never the secret itself): facts are keyed
   * by it, so only mounts using the very same credential share them.
   */
  readonly credentialKey: string;
  reader(): Promise<ArmReader>;
}

export interface ResourceFacts {
  /** Principal ids of the resource's identities, lower-case; empty ids left out. */
  readonly principalIds: readonly string[];
  readonly location: string | undefined;
}

export type FactsLookup =
  | { readonly kind: 'found'; readonly facts: ResourceFacts }
  | { readonly kind: 'no_identity'; readonly location: string | undefined }
  | { readonly kind: 'not_found' };

/** Vault's fallback when a provider lists no GA version for a type. */
export const FALLBACK_API_VERSION = '2022-03-01';

export interface ArmFactsOptions {
  readonly ttlSeconds: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export class ArmFacts {
  private readonly facts: TtlCache<FactsLookup>;
  private readonly identityPrincipals: TtlCache<string | undefined>;
  private readonly clientIds: TtlCache<readonly string[]>;
  // API versions change rarely; Vault keeps them for the life of the process, we for a day.
  private readonly apiVersions: TtlCache<{ version: string; cache: boolean }>;

  constructor(options: ArmFactsOptions) {
    const ttlMs = options.ttlSeconds * 1000;
    // A busy resource is refreshed in the background during the last stretch, so no login waits on
    // ARM for it; the oldest answer given is then TTL + grace old (grace: a tenth of the TTL, ≥ 1 s).
    const graceMs = Math.min(ttlMs, Math.max(1000, ttlMs / 10));
    const maxEntries = options.maxEntries ?? 10_000;
    const now = options.now;
    this.facts = new TtlCache({ ttlMs, graceMs, maxEntries, ...(now ? { now } : {}) });
    this.identityPrincipals = new TtlCache({ ttlMs, graceMs, maxEntries, ...(now ? { now } : {}) });
    this.clientIds = new TtlCache({ ttlMs, graceMs, maxEntries: 1000, ...(now ? { now } : {}) });
    this.apiVersions = new TtlCache({ ttlMs: 24 * 3600 * 1000, maxEntries: 1000, ...(now ? { now } : {}) });
  }

  virtualMachine(session: ArmSession, subscriptionId: string, resourceGroup: string, name: string): Promise<FactsLookup> {
    const key = cacheKey(session, 'vm', subscriptionId, resourceGroup, name);
    return this.facts.get(key, async (shared) => {
      const gate = gateFor(shared);
      const reader = await session.reader();
      return this.lookupOf(session, reader, gate, await reader.virtualMachine(subscriptionId, resourceGroup, name, gate));
    });
  }

  scaleSet(session: ArmSession, subscriptionId: string, resourceGroup: string, name: string): Promise<FactsLookup> {
    const key = cacheKey(session, 'vmss', subscriptionId, resourceGroup, name);
    return this.facts.get(key, async (shared) => {
      const gate = gateFor(shared);
      const reader = await session.reader();
      return this.lookupOf(session, reader, gate, await reader.scaleSet(subscriptionId, resourceGroup, name, gate));
    });
  }

  /** Any resource type: the API version comes from its provider (cached per type). */
  resource(session: ArmSession, id: ArmResourceId): Promise<FactsLookup> {
    const key = cacheKey(session, 'resource', id.canonical);
    return this.facts.get(key, async (shared) => {
      const gate = gateFor(shared);
      const reader = await session.reader();
      const apiVersion = await this.apiVersionFor(session, reader, gate, id);
      return this.lookupOf(session, reader, gate, await reader.resource(encodePath(id.canonical), apiVersion, gate));
    });
  }

  /** Client ids of the user-assigned identities in a resource group (Vault's `appid` fallback). */
  userAssignedClientIds(session: ArmSession, subscriptionId: string, resourceGroup: string): Promise<readonly string[]> {
    const key = cacheKey(session, 'uami-list', subscriptionId, resourceGroup);
    return this.clientIds.get(key, async (shared) => {
      const gate = gateFor(shared);
      const reader = await session.reader();
      return (await reader.userAssignedClientIds(subscriptionId, resourceGroup, gate)).map((id) => id.toLowerCase());
    });
  }

  private async lookupOf(session: ArmSession, reader: ArmReader, gate: RetryGate, snapshot: ArmResourceSnapshot | undefined): Promise<FactsLookup> {
    if (snapshot === undefined) return { kind: 'not_found' };
    if (snapshot.identity === undefined) return { kind: 'no_identity', location: snapshot.location };
    return { kind: 'found', facts: { principalIds: await this.principalsOf(session, reader, gate, snapshot.identity), location: snapshot.location } };
  }

  /**
   * The system identity plus every user-assigned one. ARM leaves out a user-assigned identity's
   * principal id on flexible scale sets (and sometimes elsewhere); such identities are read
   * one by one, each from its own subscription and group, and cached like any other fact.
   */
  private async principalsOf(session: ArmSession, reader: ArmReader, gate: RetryGate, identity: ArmIdentity): Promise<string[]> {
    const ids: string[] = [];
    if (identity.systemPrincipalId) ids.push(identity.systemPrincipalId.toLowerCase());
    const missing = identity.userAssigned.filter((entry) => !entry.principalId);
    for (const entry of identity.userAssigned) if (entry.principalId) ids.push(entry.principalId.toLowerCase());
    const fetched = await Promise.all(
      missing.map((entry) =>
        // Waits with the gate of the read that started it; another read joining it nudges that gate.
        this.identityPrincipals.get(cacheKey(session, 'uami', entry.resourceId), async (shared) => {
          shared.onJoin(() => gate.joined());
          const parsed = parseArmResourceId(entry.resourceId);
          if (!parsed.ok) {
            throw new VaultError('arm_unavailable', `ARM: unable to parse the user-assigned identity resource ID ${JSON.stringify(entry.resourceId)}: ${parsed.reason}`);
          }
          const found = await reader.userAssignedIdentity(encodePath(parsed.id.canonical), gate);
          return found?.principalId?.toLowerCase();
        }),
      ),
    );
    for (const principalId of fetched) if (principalId) ids.push(principalId);
    return ids;
  }

  /**
   * Vault's rule: the provider's entry for the type (we match the type ignoring case; Vault does
   * not), its first non-preview version; a type the provider does not list gets 2022-03-01 without
   * caching, a type with only preview versions gets 2022-03-01 cached.
   */
  private async apiVersionFor(session: ArmSession, reader: ArmReader, gate: RetryGate, id: ArmResourceId): Promise<string> {
    // Keyed by endpoint, not credential: a provider's API versions approve nothing, any reader may share them.
    const key = [session.endpoint, 'api-version', id.fullType].join('|').toLowerCase();
    const chosen = await this.apiVersions.get(key, async (shared) => {
      shared.onJoin(() => gate.joined());
      const types = await reader.providerResourceTypes(id.subscriptionId, id.namespace, gate);
      const matching = (types ?? []).filter((entry) => entry.resourceType.toLowerCase() === id.providerType.toLowerCase());
      const entry = matching[matching.length - 1];
      if (entry === undefined) return { version: FALLBACK_API_VERSION, cache: false };
      const stable = entry.apiVersions.find((version) => !version.toLowerCase().includes('preview'));
      return { version: stable ?? FALLBACK_API_VERSION, cache: true };
    });
    if (!chosen.cache) this.apiVersions.delete(key);
    return chosen.version;
  }
}

function cacheKey(session: ArmSession, kind: string, ...parts: string[]): string {
  return [session.credentialKey, kind, ...parts].join('|').toLowerCase();
}

/** The retry gate of one shared read: every login that joins the read nudges it. */
function gateFor(shared: SharedLoad): RetryGate {
  const gate = new RetryGate();
  shared.onJoin(() => gate.joined());
  return gate;
}

/** Encodes each segment of an ARM id path (they were checked to hold no `/`, `?`, `#` or `%`). */
function encodePath(resourceId: string): string {
  return resourceId
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}
