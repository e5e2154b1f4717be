/**
 * The per-run SMTP listener: what the run's mail clients (the `sendmail` shim, Python smtplib, anything that
 * speaks SMTP to `$WARDEN_SMTP`) talk to. It accepts every message and queues it instead of sending; the
 * client's 250 reply names the queued message. No AUTH, no STARTTLS: it only listens on the run's loopback
 * (or a unix socket forwarded there), and nothing leaves the machine until a release.
 */
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type AddressObject } from 'mailparser';
import type { Message } from '../api/contract-messages.js';
import type { NewMessage } from './store.js';

/** Largest message accepted, in bytes (RFC 1870 SIZE is announced). */
export const SMTP_MAX_BYTES = 25 * 1024 * 1024;

/** Header the sendmail shim adds to say which process sent the mail (removed before queueing). */
export const SENDER_HEADER = 'x-warden-sender';

export interface SmtpListener {
  /** TCP port (host runs) or null (unix socket). */
  port: number | null;
  close(): Promise<void>;
}

const addrText = (a: AddressObject | AddressObject[] | undefined) =>
  a === undefined
    ? undefined
    : [a]
        .flat()
        .map((x) => x.text)
        .join(', ');

/**
 * Starts a listener for run `run` on `where` (`{port: 0}` = 127.0.0.1 ephemeral port, `{socket}` = unix socket).
 * `enqueue` receives each message (without its release time, which the queue sets) and returns it queued.
 */
export async function startSmtpListener(
  run: number,
  where: { port: 0 } | { socket: string },
  enqueue: (m: Omit<NewMessage, 'releaseAt'>) => Message,
  log: (line: string) => void,
): Promise<SmtpListener> {
  const server = new SMTPServer({
    name: 'warden.invalid',
    banner: `Warden outbound queue for run ${run}: mail is held for review, not sent`,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: SMTP_MAX_BYTES,
    logger: false,
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(
            Object.assign(new Error(`message exceeds ${SMTP_MAX_BYTES} bytes`), { responseCode: 552 }),
          );
          return;
        }
        void queueMail(Buffer.concat(chunks), session)
          .then((m) =>
            callback(
              null,
              `queued as Warden message ${m.id} for review; release at ${new Date(m.releaseAt).toISOString()}`,
            ),
          )
          .catch((err: unknown) => {
            log(`messages: run ${run}: could not queue a mail: ${String(err)}`);
            callback(
              Object.assign(new Error('could not queue the message; see the Warden daemon log'), {
                responseCode: 451,
              }),
            );
          });
      });
    },
  });

  async function queueMail(raw: Buffer, session: SMTPServerSession): Promise<Message> {
    const mail = await simpleParser(raw);
    const envFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const rcpt = session.envelope.rcptTo.map((r) => r.address);
    const sender = mail.headers.get(SENDER_HEADER);
    const senderText = typeof sender === 'string' ? sender : null;
    const pid = senderText && /^\d+\b/.test(senderText) ? Number(senderText.split(' ')[0]) : null;
    return enqueue({
      channel: 'smtp',
      destination: rcpt.join(', '),
      subject: mail.subject ?? '',
      body: mail.text ?? '',
      attachments: mail.attachments.map((a) => ({
        name: a.filename ?? '(unnamed)',
        bytes: a.size,
        type: a.contentType,
      })),
      run,
      pid,
      process: senderText
        ? senderText.replace(/^\d+\s*/, '')
        : `SMTP client ${session.remoteAddress || 'on the run socket'}`,
      payload: {
        channel: 'smtp',
        from: envFrom || addrText(mail.from) || 'agent@warden.invalid',
        cc: addrText(mail.cc),
        html: typeof mail.html === 'string' ? mail.html : undefined,
        attachments: mail.attachments.map((a) => ({
          filename: a.filename ?? 'attachment',
          contentType: a.contentType,
          base64: a.content.toString('base64'),
        })),
      },
    });
  }

  server.on('error', (err) => log(`messages: run ${run}: SMTP listener: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    const done = () => {
      server.server.off('error', reject);
      resolve();
    };
    if ('socket' in where) server.listen(where.socket, done);
    else server.listen(0, '127.0.0.1', done);
  });
  const addr = server.server.address();
  return {
    port: addr && typeof addr === 'object' ? addr.port : null,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
