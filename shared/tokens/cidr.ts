/**
 * token_bound_cidrs: plain addresses or CIDR blocks, IPv4 or IPv6. Checked on every use of a token,
 * not only at login, against the address the platform reported for the caller.
 */
import { BlockList, isIP } from 'node:net';

interface ParsedCidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

export function parseCidr(text: string): ParsedCidr | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { address, prefix, family };
}

/** The entries that are not addresses or CIDR blocks (for a 400 naming them). */
export function invalidCidrs(cidrs: readonly string[]): string[] {
  return cidrs.filter((c) => parseCidr(c) === undefined);
}

const cache = new Map<string, BlockList>();

/** True when there is no binding, or the address falls in one of the blocks. */
export function addressAllowed(cidrs: readonly string[], remoteAddress: string | undefined): boolean {
  if (cidrs.length === 0) return true;
  if (!remoteAddress) return false;
  const address = remoteAddress.startsWith('[') ? remoteAddress.slice(1, remoteAddress.indexOf(']')) : remoteAddress;
  const version = isIP(address);
  if (version === 0) return false;
  const key = cidrs.join(',');
  let list = cache.get(key);
  if (!list) {
    list = new BlockList();
    for (const cidr of cidrs) {
      const parsed = parseCidr(cidr);
      if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    // Bounded: a handful of distinct role bindings in practice; reset rather than grow forever.
    if (cache.size > 1000) cache.clear();
    cache.set(key, list);
  }
  // BlockList matches an IPv4-mapped IPv6 address (::ffff:10.0.0.1) against IPv4 blocks too.
  return list.check(address, version === 4 ? 'ipv4' : 'ipv6');
}
