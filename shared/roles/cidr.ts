/**
 * CIDR blocks and single addresses for `token_bound_cidrs` (Vault parses them with go-sockaddr:
 * an address alone is a single-host block; host bits after the prefix are allowed).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export interface ParsedCidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `10.1.2.3`, `2001:db8::/32` or `::1`; undefined when it is none of these. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= max ? { address, prefix, family } : undefined;
}

/** The message for a value that is neither a CIDR block nor an IP address. */
export function invalidCidrMessage(text: string): string {
  return `invalid CIDR block or IP address ${JSON.stringify(text)} in token_bound_cidrs`;
}

/** Whether `address` (as the platform reported it) lies in one of `cidrs`; empty `cidrs` allows all. */
export function addressAllowed(address: string | undefined, cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return true;
  if (!address) return false;
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return false;
  const blocks = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (cidr) blocks.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return blocks.check(address, family);
}
