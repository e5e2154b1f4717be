/**
 * `warden mcp [--name NAME] -- SERVER_CMD ARGS…` (the MCP gateway, core/mcp/gateway.ts) and
 * `warden mcp install claude-code|codex|gemini [--config PATH] [--yes]` (core/mcp/install.ts).
 */
import type { Command, Option } from 'commander';
import { copyFileSync, writeFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { DaemonClient } from '../api/client.js';
import { AGENTS, type Agent } from '../mcp/agents.js';
import { packageRoot } from '../util/paths.js';
import { WardenError } from '../util/errors.js';
import { connectDaemon, fail, type GlobalOpts } from './common.js';
import { join } from 'node:path';

/** Registers `warden mcp` and `warden mcp install` on `program`. */
export function registerMcpCommands(program: Command, stateOption: () => Option): void {
  const mcp = program
    .command('mcp')
    .description(
      'run an MCP server behind Warden: tool calls are checked by policy, journaled, and sends are queued',
    )
    .usage('[--name NAME] -- SERVER_CMD [ARGS…]')
    .argument('[server...]', 'the MCP server command and its arguments, after --')
    .option('--name <name>', 'the server name used in policy and the journal (default: the command name)')
    .option(
      '--max-frame <bytes>',
      'largest JSON-RPC message accepted from the agent (default 8 MiB)',
      (v) => {
        if (!/^[1-9][0-9]*$/.test(v))
          throw new WardenError(
            'bad-max-frame',
            `--max-frame takes a byte count, not ${JSON.stringify(v)}`,
            2,
          );
        return Number(v);
      },
    )
    .addOption(stateOption())
    .addHelpText(
      'after',
      `
Put it in the agent's MCP configuration in place of the server (\`warden mcp install claude-code\` does that).
Every tools/call is checked against the \`mcp:\` section of the policy and journaled as an mcp_call event;
tools that send (names with send, post, publish, reply, comment, email, mail, message, create_issue,
create_pull_request) are queued as outbound messages: the agent is told the message id and release time,
and the daemon makes the call itself at release (\`warden messages\`).

Examples:
  warden mcp --name fs -- npx -y @modelcontextprotocol/server-filesystem ~/proj
  warden mcp install claude-code           show the diff for ~/.claude.json, ask, keep a backup
  warden mcp install codex --yes           rewrite ~/.codex/config.toml without asking`,
    )
    .passThroughOptions()
    .action(async (server: string[], opts: GlobalOpts & { name?: string; maxFrame?: number }) => {
      try {
        if (server.length === 0)
          throw new WardenError(
            'mcp-no-server',
            'give the MCP server command after --, e.g. warden mcp --name fs -- npx -y @modelcontextprotocol/server-filesystem .',
            2,
          );
        const [command, ...args] = server as [string, ...string[]];
        const name = opts.name ?? basename(command);
        const outbox = process.env.WARDEN_OUTBOX;
        const token = process.env.WARDEN_OUTBOX_TOKEN;
        // Inside a guarded run the control socket is out of reach: the run's outbox socket stands in for it.
        const connect = outbox
          ? () => DaemonClient.connect(outbox)
          : async () => (await connectDaemon(opts)).client;
        const { runGateway } = await import('../mcp/gateway.js'); // the MCP SDK loads only when used
        process.exitCode = await runGateway({
          name,
          command,
          args,
          connect,
          token: outbox ? token : undefined,
          maxFrameBytes: opts.maxFrame,
        });
      } catch (err) {
        fail(err);
      }
    });

  mcp
    .command('install')
    .description("route an agent's MCP servers through warden mcp (shows the diff, keeps a backup)")
    .argument('<agent>', AGENTS.join(' | '))
    .option('--config <path>', "the agent's MCP config file (default: the agent's own, e.g. ~/.claude.json)")
    .option('--yes', 'write without asking')
    .action(async (agent: string, opts: { config?: string; yes?: boolean }) => {
      try {
        const { defaultConfigPath, planInstall } = await import('../mcp/install.js');
        if (!(AGENTS as readonly string[]).includes(agent))
          throw new WardenError(
            'mcp-bad-agent',
            `agent must be one of ${AGENTS.join(', ')}, not ${JSON.stringify(agent)}`,
            2,
          );
        const file = opts.config ?? defaultConfigPath(agent as Agent);
        const launcher = { command: process.execPath, args: [join(packageRoot, 'bin', 'warden.js')] };
        const plan = planInstall(agent as Agent, file, launcher);
        for (const s of plan.skipped) process.stdout.write(`skipped ${s.name}: ${s.why}\n`);
        if (plan.wrapped.length === 0) return void process.stdout.write(`nothing to change in ${file}\n`);
        process.stdout.write(plan.diff);
        let go = opts.yes === true;
        if (!go && process.stdin.isTTY) {
          const rl = createInterface({ input: process.stdin, output: process.stdout });
          go = /^y(es)?$/i.test((await rl.question(`Rewrite ${file}? [y/N] `)).trim());
          rl.close();
        }
        if (!go) return void process.stdout.write(`not written; run again with --yes to rewrite ${file}\n`);
        const backup = `${file}.warden-backup-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        copyFileSync(file, backup);
        writeFileSync(file, plan.after, { mode: statSync(file).mode & 0o777 });
        process.stdout.write(`wrapped ${plan.wrapped.join(', ')} in ${file}; backup at ${backup}\n`);
      } catch (err) {
        fail(err);
      }
    });
}
