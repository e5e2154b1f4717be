/**
 * `warden messages [--json]`, `warden messages show|edit|send|cancel ID`: the outbound-message queue from a
 * terminal (core/messages). `edit` opens $EDITOR (or $VISUAL, else vi) on a temp file holding the message's
 * headers and body; a file that does not parse is kept and named, so nothing typed is lost.
 */
import type { Command, Option } from 'commander';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MESSAGE_STATES, messageSchema, type Message } from '../api/contract-messages.js';
import { WardenError } from '../util/errors.js';
import { formatTime, printJson, withDaemon, type GlobalOpts } from './common.js';

const idArg = (v: string): number => {
  if (!/^[1-9][0-9]*$/.test(v))
    throw new WardenError(
      'bad-message-id',
      `a message id is a positive number (see \`warden messages\`), not ${JSON.stringify(v)}`,
      2,
    );
  return Number(v);
};

/** One line per message for the list. */
export function messageLine(m: Message): string {
  const when =
    m.state === 'sent'
      ? `sent ${formatTime(m.sentAt)}`
      : m.state === 'queued' || m.state === 'edited'
        ? `release ${formatTime(m.releaseAt)}`
        : m.state;
  return `${String(m.id).padStart(4)}  ${m.state.padEnd(9)} ${m.channel.padEnd(4)} ${when.padEnd(28)} ${m.destination}  ${JSON.stringify(m.subject)}`;
}

/** A message in full, as `show` prints it. */
export function renderMessage(m: Message): string {
  const lines = [
    `message ${m.id} (${m.channel}) — ${m.state}${m.edited ? ', edited' : ''}`,
    `  to:          ${m.destination}`,
    `  subject:     ${m.subject}`,
    `  run:         ${m.run ?? '-'}${m.pid ? `  pid ${m.pid}` : ''}${m.process ? `  ${m.process}` : ''}`,
    `  created:     ${formatTime(m.createdAt)}`,
    `  release:     ${formatTime(m.releaseAt)}`,
    ...(m.sentAt ? [`  sent:        ${formatTime(m.sentAt)}`] : []),
    ...(m.error ? [`  error:       ${m.error}`] : []),
    ...(m.attachments.length
      ? [`  attachments: ${m.attachments.map((a) => `${a.name} (${a.bytes} bytes, ${a.type})`).join(', ')}`]
      : []),
    `  key:         ${m.idempotencyKey}  (attempts: ${m.attempts})`,
    '',
    ...m.body.split('\n').map((l) => `  | ${l}`),
  ];
  return lines.join('\n');
}

/** The text put in $EDITOR. */
export function editorText(m: Message): string {
  return [
    `# Warden outbound message ${m.id} (${m.channel}). Edit To and Subject, and the body below the blank line.`,
    '# Lines starting with # at the top are ignored. Save and quit to apply; an unchanged file changes nothing.',
    `To: ${m.destination}`,
    `Subject: ${m.subject}`,
    '',
    m.body,
  ].join('\n');
}

/**
 * Parses an edited file back: `To:` and `Subject:` headers, a blank line, the body.
 * @throws WardenError('bad-message-file') naming the line that is wrong.
 */
export function parseEditorText(text: string): { destination: string; subject: string; body: string } {
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && (lines[i] as string).startsWith('#')) i++;
  const headers: Record<string, string> = {};
  for (; i < lines.length && lines[i] !== ''; i++) {
    const m = /^(To|Subject):\s?(.*)$/i.exec(lines[i] as string);
    if (!m)
      throw new WardenError(
        'bad-message-file',
        `line ${i + 1}: expected "To:" or "Subject:" (then a blank line and the body), got ${JSON.stringify(lines[i])}`,
        2,
      );
    headers[(m[1] as string).toLowerCase()] = (m[2] as string).trim();
  }
  if (i >= lines.length)
    throw new WardenError('bad-message-file', 'no blank line between the headers and the body', 2);
  if (!headers.to) throw new WardenError('bad-message-file', 'the To: header is missing or empty', 2);
  return { destination: headers.to, subject: headers.subject ?? '', body: lines.slice(i + 1).join('\n') };
}

/** Runs $VISUAL / $EDITOR / vi on `file` (argv split on spaces, no shell). @throws when it fails. */
function runEditor(file: string): void {
  const spec = (process.env.VISUAL || process.env.EDITOR || 'vi').trim().split(/\s+/);
  const r = spawnSync(spec[0] as string, [...spec.slice(1), file], { stdio: 'inherit' });
  if (r.error)
    throw new WardenError(
      'editor-failed',
      `could not start the editor ${spec[0]}: ${r.error.message} (set $EDITOR)`,
    );
  if (r.status !== 0)
    throw new WardenError(
      'editor-failed',
      `the editor ${spec.join(' ')} exited with ${r.status ?? r.signal}`,
    );
}

/** Registers `warden messages` and its sub-commands on `program`. */
export function registerMessagesCommands(program: Command, stateOption: () => Option): void {
  const cmd = program
    .command('messages')
    .description('outbound messages (mail, MCP sends) held for review before release')
    .option('--json', 'machine-readable output')
    .option('--only <state>', `only messages in this state (${MESSAGE_STATES.join(', ')})`)
    .addOption(stateOption())
    .addHelpText(
      'after',
      `
Mail from guarded runs (sendmail, SMTP to $WARDEN_SMTP) and MCP sends (warden mcp) wait here until their
release time (default 5 minutes; policy \`messages: { release_after: 10m }\`). Released mail goes through
the relay in <state>/smtp.yaml (mode 0600):
  host: smtp.example.com
  port: 587
  secure: false          # true for TLS from the start (port 465)
  require_tls: true      # refuse to send without STARTTLS
  auth: { user: me@example.com, pass: app-password }
  from: me@example.com   # optional: replaces the agent's sender

Examples:
  warden messages                 list the queue
  warden messages show 4          one message in full
  warden messages edit 4          change To / Subject / body in $EDITOR
  warden messages send 4          release now
  warden messages cancel 4        never send it`,
    )
    .action(async (opts: GlobalOpts & { json?: boolean; only?: string }) =>
      withDaemon(opts, async (c) => {
        if (opts.only !== undefined && !(MESSAGE_STATES as readonly string[]).includes(opts.only))
          throw new WardenError(
            'bad-state',
            `--only takes one of ${MESSAGE_STATES.join(', ')}, not ${JSON.stringify(opts.only)}`,
            2,
          );
        const state = opts.only as Message['state'] | undefined;
        const list = messageSchema.array().parse(await c.call('messages.list', state ? { state } : {}));
        if (opts.json) return printJson(list);
        if (list.length === 0) return void process.stdout.write('No outbound messages.\n');
        process.stdout.write(list.map(messageLine).join('\n') + '\n');
      }),
    );

  cmd
    .command('show')
    .description('one message in full')
    .argument('<id>', 'message id')
    .option('--json', 'machine-readable output')
    .addOption(stateOption())
    .action(async (id: string, opts: GlobalOpts & { json?: boolean }) =>
      withDaemon(opts, async (c) => {
        const m = messageSchema.parse(await c.call('messages.get', { id: idArg(id) }));
        if (opts.json) return printJson(m);
        process.stdout.write(renderMessage(m) + '\n');
      }),
    );

  cmd
    .command('edit')
    .description('change recipient, subject or body in $EDITOR before release')
    .argument('<id>', 'message id')
    .addOption(stateOption())
    .action(async (id: string, opts: GlobalOpts) =>
      withDaemon(opts, async (c) => {
        const m = messageSchema.parse(await c.call('messages.get', { id: idArg(id) }));
        if (m.state !== 'queued' && m.state !== 'edited')
          throw new WardenError(
            'message-not-editable',
            `message ${m.id} is ${m.state}; only queued messages can be edited`,
            2,
          );
        const dir = mkdtempSync(join(tmpdir(), 'warden-message-'));
        const file = join(dir, `message-${m.id}.eml`);
        const original = editorText(m);
        writeFileSync(file, original, { mode: 0o600 });
        runEditor(file);
        const text = readFileSync(file, 'utf8');
        if (text === original) {
          rmSync(dir, { recursive: true, force: true });
          return void process.stdout.write(`message ${m.id} unchanged\n`);
        }
        let change;
        try {
          change = parseEditorText(text);
          const after = messageSchema.parse(await c.call('messages.edit', { id: m.id, ...change }));
          rmSync(dir, { recursive: true, force: true });
          process.stdout.write(`message ${after.id} edited; release ${formatTime(after.releaseAt)}\n`);
        } catch (err) {
          throw new WardenError(
            err instanceof WardenError ? err.code : 'edit-failed',
            `${(err as Error).message}\nYour text is kept in ${file}; fix it and run \`warden messages edit ${m.id}\` again.`,
            err instanceof WardenError ? err.exitCode : 1,
          );
        }
      }),
    );

  cmd
    .command('send')
    .description('release a message now (waits until it is sent or failed)')
    .argument('<id>', 'message id')
    .addOption(stateOption())
    .action(async (id: string, opts: GlobalOpts) =>
      withDaemon(opts, async (c) => {
        const m = messageSchema.parse(await c.call('messages.send', { id: idArg(id) }));
        if (m.state !== 'sent')
          throw new WardenError(
            'message-failed',
            `message ${m.id} ${m.state}: ${m.error ?? 'unknown error'}`,
          );
        process.stdout.write(`message ${m.id} sent to ${m.destination}\n`);
      }),
    );

  cmd
    .command('cancel')
    .description('cancel a queued message: it is never sent')
    .argument('<id>', 'message id')
    .addOption(stateOption())
    .action(async (id: string, opts: GlobalOpts) =>
      withDaemon(opts, async (c) => {
        const m = messageSchema.parse(await c.call('messages.cancel', { id: idArg(id) }));
        process.stdout.write(`message ${m.id} cancelled\n`);
      }),
    );
}
