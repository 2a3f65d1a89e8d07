// How the proxy resolves an allowed name: as the host would, but never to the host itself or to the
// link-local range a cloud's metadata service answers on (169.254.169.254, fd00:ec2::254). A list
// that admits `*.example.com` admits names whoever runs example.com's DNS can point anywhere — at
// 127.0.0.1, where the runner's Redis or Docker API listens, or at the metadata address that hands
// out the machine's credentials (DNS rebinding). Those addresses are reached only when the list
// names them: an address literal (which is never resolved) or the name `localhost` itself.
import dns from 'node:dns';
import net from 'node:net';

/** Whether `address` is the host's own (loopback, unspecified), link-local or multicast. */
export function innerAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const v4 = mapped?.[1] ?? (net.isIPv4(address) ? address : null);
  if (v4 !== null) {
    const [a = 0, b = 0] = v4.split('.').map(Number);
    return a === 127 || a === 0 || (a === 169 && b === 254) || a >= 224;
  }
  const v6 = address.toLowerCase();
  return (
    v6 === '::1' ||
    v6 === '::' ||
    /^fe[89ab][0-9a-f]:/.test(v6) ||
    v6.startsWith('ff') ||
    v6 === 'fd00:ec2::254'
  );
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for net.connect and http.request: dns.lookup's answers without the inner ones (every
 * answer, since a client may try each). `localhost` resolves as it always does: naming it is asking.
 */
export function guardedLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, options.all ? [] : '');
    const kept = hostname === 'localhost' ? addresses : addresses.filter((a) => !innerAddress(a.address));
    if (kept.length === 0) {
      const refused: NodeJS.ErrnoException = new Error(
        `${hostname} resolves only to the host's own or link-local addresses (${addresses.map((a) => a.address).join(', ')}): name the address in the allow-list to reach it`,
      );
      refused.code = 'EINNERADDRESS';
      return callback(refused, options.all ? [] : '');
    }
    const [first] = kept;
    if (options.all || !first) return callback(null, kept);
    callback(null, first.address, first.family);
  });
}
