/**
 * A `sendmail`-compatible front end for guarded runs (the shim core/messages/shim/sendmail runs this). Programs
 * that mail through `sendmail` (git send-email, cron-style scripts, PHP's mail(), mutt…) reach Warden's
 * per-run SMTP listener (`$WARDEN_SMTP`, host:port) instead of a mail server; the listener queues the message.
 *
 * Supported, as in sendmail(8): recipients as arguments; `-t` (also take recipients from To/Cc/Bcc, and drop
 * the Bcc header); `-f ADDR` / `-fADDR` (envelope sender); `-F NAME` (ignored); `-i` / `-oi` (a line with a
 * single dot does not end the message); other `-o…`, `-v`, `-bm`, `-U` accepted and ignored. Exit codes from
 * sysexits.h: 64 usage, 69 no listener (not in a guarded run), 75 temporary failure.
 */
import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import { simpleParser, type AddressObject } from 'mailparser';
import { SENDER_HEADER } from './smtp.js';

export interface SendmailArgs {
  recipients: string[];
  fromHeaders: boolean;
  sender: string | null;
  dotEnds: boolean;
}

/** Parses sendmail's argv (without the program name). @throws Error with a usage message on a bad option. */
export function parseSendmailArgs(argv: string[]): SendmailArgs {
  const a: SendmailArgs = { recipients: [], fromHeaders: false, sender: null, dotEnds: true };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i] as string;
    if (x === '--') {
      a.recipients.push(...argv.slice(i + 1));
      break;
    }
    if (!x.startsWith('-') || x === '-') a.recipients.push(x);
    else if (x === '-t') a.fromHeaders = true;
    else if (x === '-i' || x === '-oi') a.dotEnds = false;
    else if (x === '-f' || x === '-F' || x === '-r') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${x} needs a value`);
      if (x !== '-F') a.sender = v;
    } else if (x.startsWith('-f') || x.startsWith('-r')) a.sender = x.slice(2);
    else if (x.startsWith('-F') || x.startsWith('-o') || x.startsWith('-b') || x === '-v' || x === '-U')
      continue;
    else throw new Error(`unsupported option ${x} (Warden's sendmail shim knows -t -f -F -i -oi)`);
  }
  return a;
}

const addresses = (a: AddressObject | AddressObject[] | undefined): string[] =>
  a === undefined
    ? []
    : [a]
        .flat()
        .flatMap((o) => o.value)
        .map((v) => v.address ?? '')
        .filter(Boolean);

/** Removes Bcc header lines (with their folded continuations) from the header block of `raw`. */
export function stripBcc(raw: string): string {
  const end = raw.search(/\r?\n\r?\n/);
  const head = end < 0 ? raw : raw.slice(0, end);
  const rest = end < 0 ? '' : raw.slice(end);
  const kept = head.replace(/^bcc:.*(?:\r?\n[ \t].*)*(?:\r?\n)?/gim, '');
  return kept.replace(/\r?\n$/, '') + rest;
}

/** Runs the shim: returns the exit code (0 = queued). Writes errors to stderr. */
export async function main(argv: string[]): Promise<number> {
  let args: SendmailArgs;
  try {
    args = parseSendmailArgs(argv);
  } catch (err) {
    process.stderr.write(`sendmail (warden): ${(err as Error).message}\n`);
    return 64;
  }
  const target = process.env.WARDEN_SMTP ?? '';
  const m = /^([0-9.]+|localhost):(\d+)$/.exec(target);
  if (!m) {
    process.stderr.write(
      'sendmail (warden): WARDEN_SMTP is not set: this shim only works inside `warden run`\n',
    );
    return 69;
  }
  // latin1 keeps every byte as one char, so the bytes go out exactly as read (Buffer.from(…, 'latin1')).
  let raw = readFileSync(0, 'latin1');
  if (args.dotEnds) {
    const dot = raw.search(/(^|\r?\n)\.\r?\n/);
    if (dot >= 0) raw = raw.slice(0, dot + 1);
  }
  const to = [...args.recipients];
  const parsed = await simpleParser(Buffer.from(raw, 'latin1'));
  if (args.fromHeaders) {
    to.push(...addresses(parsed.to), ...addresses(parsed.cc), ...addresses(parsed.bcc));
    raw = stripBcc(raw);
  }
  if (to.length === 0) {
    process.stderr.write('sendmail (warden): no recipients (give addresses or -t with To/Cc/Bcc headers)\n');
    return 64;
  }
  const from = args.sender ?? addresses(parsed.from)[0] ?? `${process.env.USER ?? 'agent'}@localhost`;
  let who = String(process.ppid);
  try {
    who +=
      ' ' +
      readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .join(' ')
        .slice(0, 300);
  } catch {
    /* the parent is gone: the pid alone */
  }
  const transport = createTransport({
    host: m[1] as string,
    port: Number(m[2]),
    secure: false,
    ignoreTLS: true,
    connectionTimeout: 10_000,
  });
  try {
    await transport.sendMail({
      envelope: { from, to },
      raw: Buffer.from(`${SENDER_HEADER}: ${who.replace(/[^\x20-\x7e]/g, ' ')}\r\n${raw}`, 'latin1'),
    });
    return 0;
  } catch (err) {
    process.stderr.write(
      `sendmail (warden): the run's mail queue did not take the message: ${(err as Error).message}\n`,
    );
    return 75;
  } finally {
    transport.close();
  }
}
