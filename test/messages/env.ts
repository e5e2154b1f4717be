/**
 * Shared pieces of the outbound-message tests: fixture paths, running the stand-in agent (an MCP client in a
 * child process) against `warden mcp`, reading the queue through the CLI, and killing the sandbox's daemon.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { messageSchema, type Message } from '../../core/api/contract-messages.js';
import { repoRoot, warden, wardenBin, type Sandbox } from '../helpers/warden.js';

export const fixtures = join(repoRoot, 'dist', 'test', 'messages', 'fixtures');
export const mailServerJs = join(fixtures, 'mail-server.js');
export const agentJs = join(fixtures, 'agent.js');
export const filesystemServerJs = join(
  repoRoot,
  'node_modules',
  '@modelcontextprotocol',
  'server-filesystem',
  'dist',
  'index.js',
);

export interface AgentResult {
  tools: string[];
  results: { content: { type: string; text?: string }[]; isError?: boolean }[];
}

/** argv of `warden mcp --name NAME -- node SERVER ARGS…` as an agent's config would hold it. */
export function gatewayArgv(name: string, server: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: [wardenBin, 'mcp', '--name', name, '--', ...server] };
}

/**
 * Runs the stand-in agent: it starts `server` (command + args), makes `calls`, prints what it got, and exits.
 * Resolves with the parsed output once the agent process has exited.
 */
export function runAgent(
  sb: Sandbox,
  server: { command: string; args: string[] },
  calls: { name: string; arguments: Record<string, unknown> }[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<AgentResult> {
  const child = spawn(process.execPath, [agentJs, JSON.stringify({ ...server, calls })], {
    cwd: sb.ws,
    env: { ...sb.env, ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the agent did not finish in ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`the agent exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out) as AgentResult);
      } catch {
        reject(new Error(`unparseable agent output ${JSON.stringify(out)}; stderr: ${err}`));
      }
    });
  });
}

/** `warden messages --json` in the sandbox. */
export function listMessages(sb: Sandbox): Message[] {
  const r = warden(sb, ['messages', '--json']);
  if (r.status !== 0) throw new Error(`warden messages failed: ${r.stderr}`);
  return messageSchema.array().parse(JSON.parse(r.stdout));
}

/** `warden messages show ID --json`. */
export function showMessage(sb: Sandbox, id: number): Message {
  const r = warden(sb, ['messages', 'show', String(id), '--json']);
  if (r.status !== 0) throw new Error(`warden messages show failed: ${r.stderr}`);
  return messageSchema.parse(JSON.parse(r.stdout));
}

/** SIGKILLs the sandbox daemon (no clean shutdown) and waits until it is gone. */
export async function killDaemon(sb: Sandbox): Promise<number> {
  const pidFile = join(sb.state, 'daemon.pid');
  if (!existsSync(pidFile)) throw new Error('no daemon.pid: the daemon is not running');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return pid;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`daemon ${pid} survived SIGKILL`);
}

/** Text of the first content item of a tool result. */
export function resultText(r: AgentResult['results'][number] | undefined): string {
  return r?.content.map((c) => c.text ?? '').join('\n') ?? '';
}

/** Polls `fn` until it returns true or `ms` passes. */
export async function until(what: string, fn: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
