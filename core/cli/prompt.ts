/**
 * The terminal prompt of `warden run`: when it runs attached to a TTY, holds of its run are shown on the
 * terminal and answered there (y = allow once, r = allow for this run, a = always, n/Enter = deny). A hold
 * answered elsewhere (another terminal, the app) or timed out withdraws its question.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { DaemonClient } from '../api/client.js';
import type { Hold, Push } from '../api/contract.js';
import { renderHold } from './holds-view.js';

/** Whether `warden run` should prompt: stdin and stderr are a terminal and prompting is not switched off. */
export function shouldPrompt(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!process.stdin.isTTY && !!process.stderr.isTTY && env.WARDEN_NO_PROMPT === undefined;
}

const SCOPES: Record<string, { decision: 'allow' | 'deny'; scope: 'once' | 'run' | 'always' }> = {
  y: { decision: 'allow', scope: 'once' },
  r: { decision: 'allow', scope: 'run' },
  a: { decision: 'allow', scope: 'always' },
  n: { decision: 'deny', scope: 'once' },
};

/**
 * Subscribes `client` to the holds of `run` and asks about each `ask` hold on /dev/tty, one at a time.
 * Delays are announced, not asked (`warden cancel ID` stops them).
 */
export async function promptForHolds(client: DaemonClient, run: number): Promise<void> {
  const queue: Hold[] = [];
  const resolved = new Set<string>();
  let current: { id: string; abort: AbortController } | null = null;
  let busy = false;
  const tty = createWriteStream('/dev/tty');

  const next = async (): Promise<void> => {
    if (busy) return;
    const h = queue.shift();
    if (!h) return;
    if (resolved.has(h.id)) return next();
    busy = true;
    const abort = new AbortController();
    current = { id: h.id, abort };
    const rl = createInterface({ input: createReadStream('/dev/tty'), output: tty, terminal: true });
    try {
      tty.write(`\n[warden] ${renderHold(h).replace(/\n/g, '\n[warden] ')}\n`);
      const a = (
        await rl.question('[warden] allow? [y]es once / [r]un / [a]lways / [N]o: ', { signal: abort.signal })
      )
        .trim()
        .toLowerCase();
      const choice = SCOPES[a[0] ?? 'n'] ?? SCOPES.n!;
      await client
        .call('holds.decide', { id: h.id, decision: choice.decision, scope: choice.scope })
        .catch((err: Error) => {
          tty.write(`[warden] could not answer ${h.id}: ${err.message}\n`);
        });
    } catch {
      tty.write(`[warden] hold ${h.id} was answered elsewhere or timed out\n`);
    } finally {
      rl.close();
      current = null;
      busy = false;
    }
    return next();
  };

  await client.subscribe(
    (p: Push) => {
      if (p.type === 'hold.new' && p.hold.run === run) {
        if (p.hold.decision === 'delay') {
          const secs = Math.max(0, Math.round((p.hold.deadline - Date.now()) / 1000));
          tty.write(
            `[warden] delaying ${p.hold.op} ${p.hold.path ?? ''} for ${secs}s — \`warden cancel ${p.hold.id}\` stops it\n`,
          );
          return;
        }
        queue.push(p.hold);
        void next();
      } else if (p.type === 'hold.resolved') {
        resolved.add(p.id);
        if (current?.id === p.id) current.abort.abort();
      }
    },
    { run },
  );
}
