/**
 * `warden mcp install`: rewrites real-format configuration files of Claude Code (JSON, top-level and
 * per-project mcpServers), Gemini CLI (JSON) and Codex CLI (TOML), shows the diff, keeps a backup, leaves
 * non-stdio and already-wrapped servers alone, and the rewritten entry actually starts the server through
 * the gateway.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { destroySandbox, makeSandbox, warden, wardenBin } from '../helpers/warden.js';
import { mailServerJs, runAgent } from './env.js';

const sb = makeSandbox('mcp-install');
after(() => destroySandbox(sb));

const backups = (dir: string, base: string) =>
  readdirSync(dir).filter((n) => n.startsWith(`${base}.warden-backup-`));

test('claude-code: top-level and per-project stdio servers are wrapped; http servers are skipped; backup kept', () => {
  const file = join(sb.home, '.claude.json');
  const before = {
    numStartups: 3,
    mcpServers: {
      mail: {
        type: 'stdio',
        command: process.execPath,
        args: [mailServerJs],
        env: { MAIL_SINK: '127.0.0.1:1' },
      },
      remote: { type: 'http', url: 'https://mcp.example.test/mcp' },
    },
    projects: {
      [sb.ws]: {
        mcpServers: { fs: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '.'] } },
      },
    },
  };
  writeFileSync(file, JSON.stringify(before, null, 2));
  const dry = warden(sb, ['mcp', 'install', 'claude-code']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /not written; run again with --yes/);
  assert.match(dry.stdout, /^\+.*"--name",?$/m);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), before, 'without --yes nothing changes');

  const r = warden(sb, ['mcp', 'install', 'claude-code', '--yes']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /skipped remote: not a stdio server/);
  const after = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(after.numStartups, 3, 'other settings are kept');
  assert.equal(after.mcpServers.mail.command, process.execPath);
  assert.deepEqual(after.mcpServers.mail.args, [
    wardenBin,
    'mcp',
    '--name',
    'mail',
    '--',
    process.execPath,
    mailServerJs,
  ]);
  assert.deepEqual(after.mcpServers.mail.env, { MAIL_SINK: '127.0.0.1:1' });
  assert.deepEqual(after.mcpServers.remote, before.mcpServers.remote);
  assert.deepEqual(after.projects[sb.ws].mcpServers.fs.args.slice(1, 6), [
    'mcp',
    '--name',
    'fs',
    '--',
    'npx',
  ]);
  const b = backups(sb.home, '.claude.json');
  assert.equal(b.length, 1);
  assert.deepEqual(JSON.parse(readFileSync(join(sb.home, b[0] as string), 'utf8')), before);

  const again = warden(sb, ['mcp', 'install', 'claude-code', '--yes']);
  assert.match(again.stdout, /skipped mail: already goes through warden mcp/);
  assert.match(again.stdout, /nothing to change/);
});

test('the wrapped entry starts the server through the gateway (echo works, send is queued)', async () => {
  const cfg = JSON.parse(readFileSync(join(sb.home, '.claude.json'), 'utf8'));
  const entry = cfg.mcpServers.mail as { command: string; args: string[] };
  const r = await runAgent(sb, entry, [
    { name: 'echo', arguments: { text: 'wrapped' } },
    { name: 'send_email', arguments: { to: 'x@example.test', subject: 's', body: 'b' } },
  ]);
  assert.equal(r.results[0]?.content[0]?.text, 'echo: wrapped');
  assert.match(r.results[1]?.content[0]?.text ?? '', /Queued for review/);
});

test('gemini: settings.json mcpServers are wrapped', () => {
  const file = join(sb.home, 'gemini-settings.json');
  writeFileSync(
    file,
    JSON.stringify({
      theme: 'dark',
      mcpServers: { gh: { command: 'gh-mcp', args: ['--stdio'], cwd: '/tmp' } },
    }),
  );
  const r = warden(sb, ['mcp', 'install', 'gemini', '--config', file, '--yes']);
  assert.equal(r.status, 0, r.stderr);
  const after = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(after.theme, 'dark');
  assert.deepEqual(after.mcpServers.gh.args, [wardenBin, 'mcp', '--name', 'gh', '--', 'gh-mcp', '--stdio']);
  assert.equal(after.mcpServers.gh.cwd, '/tmp');
  assert.equal(backups(sb.home, 'gemini-settings.json').length, 1);
});

test('codex: config.toml [mcp_servers.*] are wrapped (TOML stays valid, other keys kept)', () => {
  const file = join(sb.home, 'codex.toml');
  writeFileSync(
    file,
    `model = "o4-mini"\n\n[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "docs-mcp"]\n\n[mcp_servers.docs.env]\nTOKEN = "t"\n`,
  );
  const r = warden(sb, ['mcp', 'install', 'codex', '--config', file, '--yes']);
  assert.equal(r.status, 0, r.stderr);
  const after = parseToml(readFileSync(file, 'utf8')) as {
    model: string;
    mcp_servers: { docs: { command: string; args: string[]; env: Record<string, string> } };
  };
  assert.equal(after.model, 'o4-mini');
  assert.equal(after.mcp_servers.docs.command, process.execPath);
  assert.deepEqual(after.mcp_servers.docs.args, [
    wardenBin,
    'mcp',
    '--name',
    'docs',
    '--',
    'npx',
    '-y',
    'docs-mcp',
  ]);
  assert.deepEqual({ ...after.mcp_servers.docs.env }, { TOKEN: 't' });
});

test('bad input: unknown agent, missing file and invalid JSON are clear errors with exit 2', () => {
  const a = warden(sb, ['mcp', 'install', 'cursor']);
  assert.equal(a.status, 2);
  assert.match(a.stderr, /agent must be one of claude-code, codex, gemini/);
  const m = warden(sb, ['mcp', 'install', 'gemini', '--config', join(sb.home, 'nope.json')]);
  assert.equal(m.status, 2);
  assert.match(m.stderr, /nope\.json does not exist/);
  const bad = join(sb.home, 'bad.json');
  writeFileSync(bad, '{ not json');
  const i = warden(sb, ['mcp', 'install', 'claude-code', '--config', bad, '--yes']);
  assert.equal(i.status, 2);
  assert.match(i.stderr, /bad\.json is not valid JSON/);
  assert.equal(readFileSync(bad, 'utf8'), '{ not json');
});
