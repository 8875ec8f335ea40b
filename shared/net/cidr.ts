/**
 * `token_bound_cidrs`: CIDR blocks and single addresses, IPv4 or IPv6, as Vault parses them with
 * go-sockaddr (an address alone is a single-host block; host bits after the prefix are allowed).
 * One parser and one matcher for every place that checks them: role writes, login and token use.
 */
import { BlockList, isIP } from 'node:net';

export interface ParsedCidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `10.1.2.3`, `2001:db8::/32` or `::1`; undefined when it is none of these. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= max ? { address, prefix, family } : undefined;
}

/** The entries that are neither addresses nor CIDR blocks (for a 400 naming them). */
export function invalidCidrs(cidrs: readonly string[]): string[] {
  return cidrs.filter((cidr) => parseCidr(cidr) === undefined);
}

/** A role write's message for a value that is neither a CIDR block nor an IP address. */
export function invalidCidrMessage(text: string): string {
  return `invalid CIDR block or IP address ${JSON.stringify(text)} in token_bound_cidrs`;
}

/** The blocks of a `token_bound_cidrs` list; entries that do not parse match nothing. */
export function cidrBlockList(cidrs: readonly string[]): BlockList {
  const blocks = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (cidr) blocks.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return blocks;
}

/**
 * True when there is no binding, or the caller's address (as the platform reported it, brackets
 * around an IPv6 address allowed) falls in one of the blocks. BlockList also matches an IPv4-mapped
 * IPv6 address (`::ffff:10.0.0.1`) against IPv4 blocks.
 */
export function addressAllowed(cidrs: readonly string[], remoteAddress: string | undefined): boolean {
  if (cidrs.length === 0) return true;
  if (!remoteAddress) return false;
  const address = remoteAddress.startsWith('[') ? remoteAddress.slice(1, remoteAddress.indexOf(']')) : remoteAddress;
  const version = isIP(address);
  if (version === 0) return false;
  return cidrBlockList(cidrs).check(address, version === 4 ? 'ipv4' : 'ipv6');
}
