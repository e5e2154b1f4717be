/**
 * A real SMTP sink for tests (smtp-server on 127.0.0.1, ephemeral port): records every mail it receives, and
 * counts them per Message-ID the way a deduplicating receiver would. `stall` makes it wait before answering
 * (after the greeting, or after DATA once the mail is recorded) so a test can kill a sender mid-delivery.
 */
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

export interface SunkMail {
  messageId: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  raw: string;
}

export interface Sink {
  port: number;
  /** Every mail received, repeats included. */
  received: SunkMail[];
  /** Distinct mails by Message-ID (what a deduplicating receiver keeps). */
  unique(): SunkMail[];
  /** Resolves when at least `n` mails (repeats included) have arrived, or rejects after `ms`. */
  waitFor(n: number, ms?: number): Promise<void>;
  stall: { greetingMs: number; afterDataMs: number };
  /** SMTP connections opened so far. */
  connections: () => number;
  close(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const received: SunkMail[] = [];
  const stall = { greetingMs: 0, afterDataMs: 0 };
  let connections = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      connections++;
      setTimeout(() => callback(), stall.greetingMs);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        void simpleParser(raw).then((m) => {
          received.push({
            messageId: m.messageId ?? '',
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: m.subject ?? '',
            text: (m.text ?? '').replace(/\n$/, ''),
            raw: raw.toString('utf8'),
          });
          setTimeout(() => callback(null, 'stored'), stall.afterDataMs);
        });
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.server.address();
  const port = addr && typeof addr === 'object' ? addr.port : 0;
  return {
    port,
    received,
    stall,
    connections: () => connections,
    unique() {
      const seen = new Map<string, SunkMail>();
      for (const m of received) if (!seen.has(m.messageId)) seen.set(m.messageId, m);
      return [...seen.values()];
    },
    async waitFor(n, ms = 30_000) {
      const end = Date.now() + ms;
      while (received.length < n) {
        if (Date.now() > end) throw new Error(`the sink got ${received.length} mails, wanted ${n}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
