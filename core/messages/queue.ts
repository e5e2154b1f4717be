/**
 * The outbound-message queue's behaviour: queue, edit, cancel, release on a timer or on request, and recovery
 * after a crash.
 *
 * Delivery protocol (what "exactly once" means here, honestly):
 * 1. `claim`: the message moves to `sending` and its attempt count goes up, committed (synchronous=FULL) BEFORE
 *    any byte goes to the receiver;
 * 2. delivery, carrying the message's idempotency key (SMTP Message-ID, MCP `_meta`);
 * 3. `finish`: `sent` (with the receipt) or `failed` (with the error).
 * A message is never delivered from `queued`/`edited` twice: claim is a conditional UPDATE, so the timer, a
 * person's "send now" and a second daemon cannot both win. If the daemon dies between 1 and 3 nobody can know
 * whether the receiver got it, so at the next start every message left in `sending` is delivered again with
 * the SAME key: nothing is lost, and a receiver that remembers keys (Message-ID dedupe; the test sink does)
 * sees it once. A receiver that does not dedupe may see it twice in that crash window only — true
 * exactly-once needs the receiver's cooperation, and no protocol on our side can avoid that.
 */
import type { Message } from '../api/contract-messages.js';
import { WardenError, errorMessage } from '../util/errors.js';
import { deliverMcp, deliverSmtp, recipients } from './deliver.js';
import { deliveryPayload, editedMcpArguments, type DeliveryPayload } from './payload.js';
import { loadRelay } from './relay.js';
import type { MessageStore, NewMessage } from './store.js';

/** What a state change is reported as (journal `message` events and pushes). */
export type MessageChange = 'queued' | 'edited' | 'sending' | 'sent' | 'cancelled' | 'failed' | 'recovering';

export interface QueueOptions {
  store: MessageStore;
  /** State dir (for `smtp.yaml`). */
  stateDir: string;
  log: (line: string) => void;
  /** Called after every state change (journal + push). Must not throw. */
  changed: (m: Message, what: MessageChange) => void;
  /** Performs a delivery; defaults to SMTP via the relay / MCP via the stored server command. */
  deliver?: (m: Message, p: DeliveryPayload) => Promise<unknown>;
}

/** Longest single timer wait (ms); the timer re-arms after it, so clock jumps are picked up. */
const MAX_WAIT_MS = 30_000;

export class MessageQueue {
  private timer: NodeJS.Timeout | null = null;
  private inflight = new Map<number, Promise<Message>>();
  private closed = false;

  constructor(private readonly o: QueueOptions) {}

  /** Queues a new message; returns it (state `queued`). */
  enqueue(n: NewMessage): Message {
    const m = this.o.store.insert(n);
    this.o.changed(m, 'queued');
    this.arm();
    return m;
  }

  /**
   * Changes subject / body / destination of a waiting message (and the stored delivery to match).
   * @throws WardenError when the message is not waiting, or when an MCP call has no argument for that field.
   */
  edit(id: number, change: { subject?: string; body?: string; destination?: string }): Message {
    const before = this.o.store.get(id);
    const p = deliveryPayload.parse(this.o.store.payload(id));
    let next: DeliveryPayload = p;
    if (p.channel === 'smtp' && change.destination !== undefined) {
      const bad = recipients(change.destination).filter((a) => !/^[^@\s<>,;]+@[^@\s<>,;]+$/.test(a));
      if (bad.length > 0 || recipients(change.destination).length === 0)
        throw new WardenError(
          'message-bad-recipient',
          `message ${id}: ${bad.length ? `not a mail address: ${bad.join(', ')}` : 'no recipient'} (write addresses separated by commas)`,
          2,
        );
    }
    if (p.channel === 'mcp') {
      for (const k of ['subject', 'body', 'destination'] as const)
        if (change[k] !== undefined && change[k] !== before[k] && !p.fields[k])
          throw new WardenError(
            'message-field-fixed',
            `message ${id} (${p.server.name}/${p.tool}) has no ${k} argument to change; cancel it instead`,
            2,
          );
      next = { ...p, arguments: editedMcpArguments(p, change) };
    }
    const m = this.o.store.edit(id, change, next);
    this.o.changed(m, 'edited');
    return m;
  }

  /** Cancels a waiting message. @throws WardenError when it is already sending or done. */
  cancel(id: number): Message {
    const m = this.o.store.cancel(id);
    this.o.changed(m, 'cancelled');
    this.arm();
    return m;
  }

  /**
   * Releases a message now (a failed one is tried again) and resolves with it once it is sent or failed.
   * @throws WardenError when it was cancelled or is already sent.
   */
  async sendNow(id: number): Promise<Message> {
    const running = this.inflight.get(id);
    if (running) return running;
    const m = this.o.store.get(id);
    if (m.state === 'sent' || m.state === 'cancelled')
      throw new WardenError('message-done', `message ${id} is already ${m.state}`, 2);
    if (m.state === 'sending')
      // Not in flight here: a crash left it, and start() resends it with the same key — never a second sender.
      throw new WardenError(
        'message-busy',
        `message ${id} is being sent (or recovered after a restart); look again shortly`,
      );
    if (!this.o.store.claim(id, m.state === 'failed'))
      throw new WardenError('message-busy', `message ${id} changed state meanwhile; look at it again`);
    return this.track(id, this.attempt(this.o.store.get(id)));
  }

  /** Resolves messages a crash left in `sending` (delivering them again with the same key), then arms the timer. */
  async start(): Promise<void> {
    for (const m of this.o.store.stuck()) {
      this.o.log(
        `messages: message ${m.id} was being sent when the daemon stopped; sending again with the same key`,
      );
      this.o.store.reattempt(m.id);
      const again = this.o.store.get(m.id);
      this.o.changed(again, 'recovering');
      await this.track(m.id, this.attempt(again));
    }
    this.arm();
  }

  /** Releases every due message (the timer calls this; tests may too). Returns how many were released. */
  async releaseDue(now = Date.now()): Promise<number> {
    let n = 0;
    for (const m of this.o.store.due(now)) {
      if (this.closed) break;
      if (!this.o.store.claim(m.id)) continue;
      n++;
      await this.track(m.id, this.attempt(this.o.store.get(m.id)));
    }
    return n;
  }

  /** Stops the timer and waits for deliveries in progress. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** Messages being delivered right now (ids). */
  busyIds(): number[] {
    return [...this.inflight.keys()];
  }

  private track(id: number, p: Promise<Message>): Promise<Message> {
    this.inflight.set(id, p);
    return p.finally(() => this.inflight.delete(id));
  }

  /** Delivers a claimed message (state `sending`) and records the outcome. */
  private async attempt(m: Message): Promise<Message> {
    this.o.changed(m, 'sending');
    let done: Message;
    try {
      const p = deliveryPayload.parse(this.o.store.payload(m.id));
      const receipt = await (this.o.deliver ?? defaultDeliver(this.o.stateDir))(m, p);
      done = this.o.store.finish(m.id, { state: 'sent', receipt });
      this.o.log(`messages: message ${m.id} sent (${m.channel} to ${m.destination})`);
    } catch (err) {
      done = this.o.store.finish(m.id, { state: 'failed', error: errorMessage(err) });
      this.o.log(`messages: message ${m.id} failed: ${errorMessage(err)}`);
    }
    this.o.changed(done, done.state === 'sent' ? 'sent' : 'failed');
    return done;
  }

  /** Arms the release timer for the next due message. */
  private arm(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const next = this.o.store.nextRelease();
    if (next === null) return;
    const wait = Math.min(Math.max(next - Date.now(), 0), MAX_WAIT_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.releaseDue()
        .catch((err) => this.o.log(`messages: release failed: ${errorMessage(err)}`))
        .finally(() => this.arm());
    }, wait);
    this.timer.unref();
  }
}

/** The real delivery: SMTP through `<state>/smtp.yaml`'s relay, MCP through the stored server command. */
export function defaultDeliver(stateDir: string): (m: Message, p: DeliveryPayload) => Promise<unknown> {
  return (m, p) => (p.channel === 'smtp' ? deliverSmtp(m, p, loadRelay(stateDir)) : deliverMcp(m, p));
}
