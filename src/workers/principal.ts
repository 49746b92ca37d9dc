/**
 * Principal keys: who CPU work and budgets are accounted to. `tenant:<id>`, `admin`, or
 * `anon:<prefix>` for anonymous clients, keyed by address prefix (IPv4 /24, IPv6 /64) so that one
 * client cannot multiply its share by using many addresses of one network.
 * Server-only module (node:net).
 */
import { isIP } from 'node:net';
import type { Principal } from '../http/auth.ts';

/** Prefix lengths anonymous clients are grouped by (ANON_PREFIX_V4 / ANON_PREFIX_V6). */
const lengths = { v4: 24, v6: 64 };

/**
 * Sets the prefix lengths, once at start-up (buildApp). /24 and /64 by default: one client cannot
 * multiply its share with many addresses of one network. /32 suits a lab where every loopback
 * address is a separate client (bench abuse).
 */
export function configureAddressPrefixes(v4: number, v6: number): void {
  if (!Number.isInteger(v4) || v4 < 0 || v4 > 32 || !Number.isInteger(v6) || v6 < 0 || v6 > 128) throw new RangeError('address prefix length out of range');
  lengths.v4 = v4;
  lengths.v6 = v6;
}

/** Keeps the first `bits` of 16-bit groups (or 8-bit octets), zeroing the rest. */
const mask = (parts: number[], width: number, bits: number): number[] =>
  parts.map((p, i) => {
    const keep = Math.max(0, Math.min(width, bits - i * width));
    return keep === 0 ? 0 : p & (((1 << keep) - 1) << (width - keep));
  });

/**
 * The address prefix an anonymous client is accounted under: IPv4 /24 (`203.0.113.0/24`), IPv6 /64
 * (`2001:db8:1:2::/64`) by default; IPv4-mapped IPv6 counts as IPv4. Anything unparseable is `unknown`.
 */
export function addressPrefix(ip: string | undefined): string {
  if (!ip) return 'unknown';
  let a = ip.trim();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped) a = mapped[1]!;
  const kind = isIP(a);
  if (kind === 4) return `${mask(a.split('.').map(Number), 8, lengths.v4).join('.')}/${lengths.v4}`;
  if (kind === 6) {
    const groups = expandIpv6(a);
    if (!groups) return 'unknown';
    const n = Math.ceil(lengths.v6 / 16);
    const head = mask(groups, 16, lengths.v6).slice(0, n).map((g) => g.toString(16)).join(':');
    return n < 8 ? `${head}::/${lengths.v6}` : `${head}/128`;
  }
  return 'unknown';
}

/** Eight 16-bit groups of a valid IPv6 address (isIP already said it is one). */
function expandIpv6(a: string): number[] | undefined {
  let s = a.toLowerCase();
  const tail: number[] = [];
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const b = v4.slice(1, 5).map(Number);
    tail.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
    s = s.slice(0, v4.index);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const dbl = s.indexOf('::');
  let groups: number[];
  if (dbl >= 0) {
    const head = parse(s.slice(0, dbl));
    const rest = parse(s.slice(dbl + 2));
    const fill = 8 - head.length - rest.length - tail.length;
    if (fill < 0) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail];
  } else {
    groups = [...parse(s), ...tail];
  }
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/**
 * The scheduler's (and the budget's) key for a request: `tenant:<id>`, `admin`, or
 * `anon:<prefix>` (see addressPrefix) for everyone else, keyed by the client address.
 */
export function principalKey(principal: Principal | null | undefined, ip: string | undefined): string {
  if (principal?.kind === 'tenant') return `tenant:${principal.tenantId}`;
  if (principal?.kind === 'admin') return 'admin';
  return `anon:${addressPrefix(ip)}`;
}
