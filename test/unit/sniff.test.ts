/**
 * core/net/sniff.ts: the destination name in a steered connection's first bytes. The TLS cases use the real
 * ClientHello Node's TLS stack sends (captured by a plain TCP server), not hand-made bytes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { SNIFF_MAX, sniffFirstBytes } from '../../core/net/sniff.js';

/** The first bytes a TLS client sends for `servername` (undefined: no SNI), as a raw TCP server sees them. */
async function clientHello(servername: string | undefined): Promise<Buffer> {
  let resolveBytes!: (b: Buffer) => void;
  const got = new Promise<Buffer>((r) => (resolveBytes = r));
  const server = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
        resolveBytes(buf);
        s.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const c = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
  c.on('error', () => {});
  const bytes = await got;
  c.destroy();
  server.close();
  return bytes;
}

describe('sniffFirstBytes', () => {
  it('finds the SNI host of a real ClientHello', async () => {
    const b = await clientHello('api.anthropic.com');
    assert.deepEqual(sniffFirstBytes(b), { kind: 'tls', host: 'api.anthropic.com', complete: true });
  });

  it('a ClientHello without SNI (an IP address was dialled) names no host', async () => {
    const b = await clientHello(undefined);
    assert.deepEqual(sniffFirstBytes(b), { kind: 'tls', host: null, complete: true });
  });

  it('a cut ClientHello asks for more bytes, at every cut point', async () => {
    const b = await clientHello('registry.npmjs.org');
    for (let n = 1; n < b.length; n++)
      assert.equal(sniffFirstBytes(b.subarray(0, n)).complete, false, `cut at ${n}`);
  });

  it('a corrupted ClientHello never throws and never invents a host', async () => {
    const b = await clientHello('github.com');
    for (let i = 0; i < 2000; i++) {
      const m = Buffer.from(b);
      for (let k = 0; k < 4; k++)
        m[5 + Math.floor(Math.random() * (m.length - 5))] = Math.floor(Math.random() * 256);
      const s = sniffFirstBytes(m);
      if (s.host !== null) assert.match(s.host, /^[a-z0-9_][a-z0-9_.-]*$/);
    }
  });

  it('reads the Host of an HTTP/1.1 request (port cut off, case folded)', () => {
    const req = Buffer.from(
      'GET /x HTTP/1.1\r\nUser-Agent: curl\r\nHost: Allowed.Test:8080\r\nAccept: */*\r\n\r\n',
    );
    assert.deepEqual(sniffFirstBytes(req), { kind: 'http', host: 'allowed.test', complete: true });
    assert.equal(sniffFirstBytes(req.subarray(0, 20)).complete, false);
    assert.deepEqual(sniffFirstBytes(Buffer.from('GET / HTTP/1.0\r\n\r\n')), {
      kind: 'http',
      host: null,
      complete: true,
    });
  });

  it('other protocols are decided at once by address; nothing yet is not complete', () => {
    assert.deepEqual(sniffFirstBytes(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')), {
      kind: 'other',
      host: null,
      complete: true,
    });
    assert.equal(sniffFirstBytes(Buffer.alloc(0)).complete, false);
  });

  it('random bytes never throw, and a huge head is complete at SNIFF_MAX', () => {
    for (let i = 0; i < 3000; i++) sniffFirstBytes(randomBytes(1 + (i % 600)));
    const huge = Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nX: '), Buffer.alloc(SNIFF_MAX, 'a')]);
    assert.equal(sniffFirstBytes(huge).complete, true);
  });
});
