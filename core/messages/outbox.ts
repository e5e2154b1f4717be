/**
 * The per-run outbox socket: how a `warden mcp` gateway started INSIDE a guarded run reaches the daemon. The
 * run cannot reach the daemon's control socket (it is in the state dir, which the helper refuses), so each run
 * gets a unix socket in its own 0700 temp dir serving only the gateway's methods (`mcp.open`, `mcp.call`,
 * `mcp.result`, `mcp.close`), with the same framing and zod contract as the control socket. `mcp.open` must
 * carry the run's token (WARDEN_OUTBOX_TOKEN), and the session it returns is bound to that run.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { MAX_LINE_BYTES, methods, requestSchema } from '../api/contract.js';
import { readLines } from '../api/framing.js';
import { WardenError, errorMessage } from '../util/errors.js';

/** Methods the outbox serves. */
export const OUTBOX_METHODS = ['mcp.open', 'mcp.call', 'mcp.result', 'mcp.close'] as const;
export type OutboxMethod = (typeof OUTBOX_METHODS)[number];

/**
 * Listens on `path` and answers each request line with `handle(method, params)`; params are parsed with the
 * method's contract schema first. A bad line, an unknown method or an oversize line gets an error answer.
 */
export async function startOutbox(
  path: string,
  handle: (method: OutboxMethod, params: unknown) => Promise<unknown>,
): Promise<Server> {
  const server = createServer((sock: Socket) => {
    sock.on('error', () => sock.destroy());
    const send = (v: unknown) => {
      if (!sock.destroyed) sock.write(JSON.stringify(v) + '\n');
    };
    readLines(
      sock,
      MAX_LINE_BYTES,
      (line) => {
        let id = 0;
        void (async () => {
          try {
            const req = requestSchema.parse(JSON.parse(line));
            id = req.id;
            const method = req.method as OutboxMethod;
            if (!OUTBOX_METHODS.includes(method))
              throw new WardenError(
                'unknown-method',
                `the run outbox serves only ${OUTBOX_METHODS.join(', ')}`,
                2,
              );
            const params = methods[method].params.parse(req.params);
            send({ id, ok: true, result: await handle(method, params) });
          } catch (err) {
            const code = err instanceof WardenError ? err.code : 'bad-request';
            send({ id, ok: false, error: { code, message: errorMessage(err).slice(0, 4000) } });
          }
        })();
      },
      () =>
        send({
          id: 0,
          ok: false,
          error: { code: 'too-large', message: `request over ${MAX_LINE_BYTES} bytes` },
        }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
