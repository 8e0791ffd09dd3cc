/**
 * Which network addresses an http(s) input may reach. A URL comes from a document or a job file
 * that may not be the user's own, so by default it may not reach this machine or its network:
 * loopback, link-local (cloud metadata at 169.254.169.254), private, unspecified, multicast and
 * reserved addresses are refused, on the first URL and on every redirect. The user's strand.yaml
 * can allow them (`storage.http.allowPrivateAddresses`, `storage.http.allowHosts`).
 *
 * The check is made on the address a connection goes to: an IP literal before connecting, a host
 * name inside the socket's own DNS lookup (`guardedLookup`), so a name that resolves differently
 * between a check and the connection (DNS rebinding) cannot slip through.
 */
import dns from 'node:dns';
import net from 'node:net';
import { parseAllowEntry, type AllowEntry, type HttpSettings } from '../config/storage-settings.js';
import { StorageError } from '../errors.js';

/**
 * `allowPrivateAddresses`: every address is allowed. `allowHosts`: targets allowed even when their
 * address is refused by default: a host name, an IP address or a CIDR block, each optionally with
 * `:port` (`[v6]:port` for IPv6), e.g. `127.0.0.1:9000`, `10.0.0.0/8`, `minio.lab.internal`.
 */
export type AddressPolicy = Pick<HttpSettings, 'allowPrivateAddresses' | 'allowHosts'>;

const REFUSED = new net.BlockList();
for (const [net4, bits] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  REFUSED.addSubnet(net4, bits, 'ipv4');
}
for (const [net6, bits] of [
  ['::', 128], // unspecified
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: an IPv4 address inside
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  REFUSED.addSubnet(net6, bits, 'ipv6');
}

const familyOf = (ip: string): 'ipv4' | 'ipv6' => (net.isIPv4(ip) ? 'ipv4' : 'ipv6');

/** Whether `ip` is loopback, link-local, private, unspecified, multicast or reserved (IPv4-mapped IPv6 included). */
export function isPrivateAddress(ip: string): boolean {
  return REFUSED.check(ip, familyOf(ip));
}

/** The checks one request makes, for one policy. */
export class AddressGuard {
  private readonly allow: AllowEntry[];

  constructor(private readonly policy: AddressPolicy = {}) {
    this.allow = (policy.allowHosts ?? []).map((h) => {
      const e = parseAllowEntry(h);
      if (!e) throw new StorageError(`storage.http.allowHosts: ${h}: expected a host name, an IP address or a CIDR block, optionally with :port`, h, 'bad_location');
      return e;
    });
  }

  /** Why a connection to `ip` for `host`:`port` is refused, or undefined when it is allowed. */
  refusal(host: string, ip: string, port: number): string | undefined {
    if (this.policy.allowPrivateAddresses || !isPrivateAddress(ip)) return undefined;
    const name = host.toLowerCase();
    const family = familyOf(ip);
    const listed = this.allow.some((e) => (e.port === undefined || e.port === port) && (e.host !== undefined ? e.host === name : e.block!.check(ip, family)));
    if (listed) return undefined;
    const shown = host === ip ? ip : `${host} (${ip})`;
    return `${shown} is a loopback, link-local, private or reserved address, which an input URL may not reach unless strand.yaml allows it (storage.http.allowHosts or storage.http.allowPrivateAddresses)`;
  }

  /**
   * A `lookup` for http.request: resolves `host` and refuses the connection when any address it
   * resolves to is refused (the socket connects only to addresses this lookup returns).
   */
  lookupFor(port: number): net.LookupFunction {
    return (hostname, options, callback) => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 0);
        const list = addresses as dns.LookupAddress[];
        for (const a of list) {
          const why = this.refusal(hostname, a.address, port);
          if (why) return callback(Object.assign(new Error(why), { code: 'ESTRAND_ADDRESS_REFUSED' }), '', 0);
        }
        if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
        const first = list[0];
        if (!first) return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '', 0);
        callback(null, first.address, first.family);
      });
    };
  }
}
