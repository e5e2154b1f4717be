/**
 * `warden mcp install claude-code|codex|gemini`: rewrites an agent's MCP configuration so each stdio server is
 * started through the gateway (`warden mcp --name NAME -- CMD ARGS…`). Config formats (as the agents document
 * them):
 *   - Claude Code: `~/.claude.json` — `mcpServers` at the top and under `projects[<dir>].mcpServers` — or a
 *     project's `.mcp.json` (`mcpServers`); entries `{type?: "stdio", command, args?, env?}`.
 *   - Gemini CLI: `~/.gemini/settings.json` — `mcpServers` entries `{command, args?, env?, cwd?}`.
 *   - Codex CLI: `~/.codex/config.toml` — tables `[mcp_servers.NAME]` with `command`, `args`, `env`.
 * Entries that are not stdio (`url`, `httpUrl`, `type: http|sse`) and entries already wrapped are left alone.
 * The caller shows the diff, keeps a backup and writes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { createTwoFilesPatch } from 'diff';
import { WardenError } from '../util/errors.js';

import { AGENTS, type Agent } from './agents.js';

export { AGENTS, type Agent };

/** The agent's default config file under `home`. */
export function defaultConfigPath(agent: Agent, home: string = homedir()): string {
  if (agent === 'claude-code') return join(home, '.claude.json');
  if (agent === 'gemini') return join(home, '.gemini', 'settings.json');
  return join(home, '.codex', 'config.toml');
}

/** How the gateway is started: `[command, ...argsBefore]` then `mcp --name NAME -- CMD ARGS…`. */
export interface WardenLauncher {
  command: string;
  args: string[];
}

export interface InstallPlan {
  file: string;
  before: string;
  after: string;
  wrapped: string[];
  skipped: { name: string; why: string }[];
  diff: string;
}

type Entry = Record<string, unknown>;

function isWrapped(e: Entry, w: WardenLauncher): boolean {
  const args = Array.isArray(e.args) ? (e.args as unknown[]) : [];
  const argv = [e.command, ...args].map(String);
  const i = argv.indexOf('mcp');
  return i >= 0 && argv.includes('--') && (argv[0] === w.command || /warden(\.js)?$/.test(argv[i - 1] ?? ''));
}

/** Wraps the stdio servers in `servers` (mutated); returns wrapped names and skipped ones with why. */
function wrapServers(
  servers: unknown,
  w: WardenLauncher,
  plan: Pick<InstallPlan, 'wrapped' | 'skipped'>,
  where = '',
): void {
  if (!servers || typeof servers !== 'object') return;
  for (const [name, v] of Object.entries(servers as Record<string, unknown>)) {
    const label = where ? `${where}: ${name}` : name;
    if (!v || typeof v !== 'object') continue;
    const e = v as Entry;
    if (typeof e.command !== 'string' || e.url || e.httpUrl || (e.type && e.type !== 'stdio')) {
      plan.skipped.push({
        name: label,
        why: 'not a stdio server (url/http/sse): use the network allowlist for it',
      });
      continue;
    }
    if (isWrapped(e, w)) {
      plan.skipped.push({ name: label, why: 'already goes through warden mcp' });
      continue;
    }
    const args = Array.isArray(e.args) ? (e.args as unknown[]).map(String) : [];
    e.args = [...w.args, 'mcp', '--name', name, '--', e.command, ...args];
    e.command = w.command;
    plan.wrapped.push(label);
  }
}

/**
 * Computes the rewritten configuration of `agent` in `file` (nothing is written).
 * @throws WardenError('mcp-config-missing' | 'mcp-config-invalid') naming the file.
 */
export function planInstall(agent: Agent, file: string, w: WardenLauncher): InstallPlan {
  if (!existsSync(file))
    throw new WardenError(
      'mcp-config-missing',
      `${file} does not exist: is ${agent} set up? Give the file with --config PATH`,
      2,
    );
  const before = readFileSync(file, 'utf8');
  const plan: InstallPlan = { file, before, after: before, wrapped: [], skipped: [], diff: '' };
  try {
    if (agent === 'codex') {
      const doc = parseToml(before) as Record<string, unknown>;
      wrapServers(doc.mcp_servers, w, plan);
      if (plan.wrapped.length > 0) plan.after = stringifyToml(doc) + '\n';
    } else {
      const doc = JSON.parse(before) as Record<string, unknown>;
      wrapServers(doc.mcpServers, w, plan);
      if (agent === 'claude-code' && doc.projects && typeof doc.projects === 'object')
        for (const [dir, p] of Object.entries(doc.projects as Record<string, unknown>))
          if (p && typeof p === 'object') wrapServers((p as Entry).mcpServers, w, plan, dir);
      if (plan.wrapped.length > 0) plan.after = JSON.stringify(doc, null, 2) + '\n';
    }
  } catch (err) {
    throw new WardenError(
      'mcp-config-invalid',
      `${file} is not valid ${agent === 'codex' ? 'TOML' : 'JSON'}: ${(err as Error).message}`,
      2,
    );
  }
  plan.diff = createTwoFilesPatch(file, file, before, plan.after, 'before', 'after (warden mcp install)');
  return plan;
}
