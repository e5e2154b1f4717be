/**
 * The `warden` command line. Every command has `--help`; data commands take `--json`.
 * Exit codes: the guarded command's own for `warden run`; 2 for bad input; 1 when an operation failed.
 */
import { Command, Option } from 'commander';
import { createInterface } from 'node:readline/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, parseRunRef, printJson, withDaemon, type GlobalOpts } from './common.js';
import { chooseStateDir, ensureStateDir, packageRoot, helperBinary } from '../util/paths.js';
import { WardenError } from '../util/errors.js';
import { DaemonClient } from '../api/client.js';
import { registerHoldCommands } from './cmd-holds.js';
import { watchLine, type WatchStatus } from './watch-line.js';
import { registerJournalCommands } from './cmd-journal.js';
import { existsSync } from 'node:fs';

// Command modules are imported when their command runs: `warden run` must not pay for the policy engine,
// SQLite or the daemon's code at start-up (each costs tens of ms of module loading).
const views = () => import('./views.js');

const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string })
  .version;
const program = new Command();
program
  .name('warden')
  .description('A local guardian for AI coding agents: supervise, journal, roll back.')
  .version(version)
  .showHelpAfterError('(run with --help for usage)')
  .enablePositionalOptions();

const stateOption = () =>
  new Option('--state <dir>', 'state dir (default: $WARDEN_STATE, else $XDG_STATE_HOME/warden)');

program
  .command('run')
  .description(
    'run a command under supervision: journal its side effects with pre-images, enforce the policy',
  )
  .usage('[options] -- <command> [args...]')
  .option('--workspace <dir>', 'the workspace the agent may change (default: current directory)')
  .option(
    '--policy <file>',
    'extra policy file, evaluated by its band (repeatable)',
    (v: string, acc: string[]) => [...acc, v],
    [],
  )
  .addOption(stateOption())
  .option('--no-landlock', 'do not apply the Landlock wall (tests of the seccomp layer only)')
  .addOption(
    new Option(
      '--net <mode>',
      "isolated: own network namespace, egress only through Warden's proxy (default where it works); host: no isolation",
    ).choices(['isolated', 'host']),
  )
  .option('-q, --quiet', 'do not print the run summary')
  .argument('<command...>', 'the command to run, after --')
  .passThroughOptions()
  .action(
    async (
      cmd: string[],
      opts: {
        workspace?: string;
        policy: string[];
        state?: string;
        landlock: boolean;
        quiet?: boolean;
        net?: 'isolated' | 'host';
      },
    ) => {
      const { runCommand } = await import('./run.js');
      process.exitCode = await runCommand(cmd, opts);
    },
  );

program
  .command('runs')
  .description('list runs, newest first')
  .option('--limit <n>', 'how many', (v) => Number(v), 20)
  .option('--json', 'machine-readable output')
  .addOption(stateOption())
  .action(async (opts: GlobalOpts & { limit: number; json?: boolean }) =>
    withDaemon(opts, async (c) => {
      const { runRow, summaryShape, renderRuns } = await views();
      const rows = runRow.array().parse(await c.call('runs.list', { limit: opts.limit }));
      const summaries = new Map<number, { events: number; denied: number; preimages: number }>();
      for (const r of rows) {
        const got = (await c.call('run.get', { run: r.id })) as { summary: unknown };
        summaries.set(r.id, summaryShape.parse(got.summary));
      }
      if (opts.json) printJson(rows.map((r) => ({ ...r, summary: summaries.get(r.id) })));
      else process.stdout.write(renderRuns(rows, summaries));
    }),
  );

program
  .command('log')
  .description('the timeline of a run: every side effect, its decision, rule and pre-image')
  .option('--run <id>', 'run id or "last"', 'last')
  .option(
    '--op <op>',
    'only events with this op (write, create, delete, rename, mkdir, chmod, exec, connect)',
  )
  .option('--limit <n>', 'at most this many events', (v) => Number(v), 100000)
  .option('--json', 'machine-readable output')
  .addOption(stateOption())
  .action(async (opts: GlobalOpts & { run: string; op?: string; limit: number; json?: boolean }) =>
    withDaemon(opts, async (c) => {
      const { logResult, renderLog } = await views();
      const data = logResult.parse(
        await c.call('run.log', { run: parseRunRef(opts.run), limit: opts.limit, op: opts.op }),
      );
      if (opts.json) printJson(data);
      else process.stdout.write(renderLog(data));
    }),
  );

program
  .command('rollback')
  .description(
    'restore the files a run changed: shows the plan, then applies it (lossless: displaced files are kept)',
  )
  .option('--run <id>', 'run id or "last"')
  .option('--undo <rollback>', 'undo an applied rollback by its id (puts back what it replaced)', (v) =>
    Number(v),
  )
  .option(
    '--path <glob>',
    'only paths matching this glob (repeatable)',
    (v: string, acc: string[]) => [...acc, v],
    [],
  )
  .option('--all', 'everything the run changed, not only its workspace (agent state, temp files, …)')
  .option('--force', 'also restore paths changed after the run (what is there now is moved aside, not lost)')
  .option('--dry-run', 'show the plan only')
  .option('--yes', 'apply without asking')
  .option('--json', 'machine-readable output')
  .addOption(stateOption())
  .action(
    async (
      opts: GlobalOpts & {
        run?: string;
        undo?: number;
        path: string[];
        all?: boolean;
        force?: boolean;
        dryRun?: boolean;
        yes?: boolean;
        json?: boolean;
      },
    ) =>
      withDaemon(opts, async (c) => {
        const { renderPlan, renderRollbackResult } = await import('./rollback-view.js');
        if (opts.undo !== undefined) {
          if (!Number.isInteger(opts.undo) || opts.undo <= 0) {
            throw new WardenError('usage', '--undo takes a rollback id (see `warden runs show RUN`)', 2);
          }
          const undone = await c.call('rollback.undo', { rollback: opts.undo });
          if (opts.json) printJson(undone);
          else process.stdout.write(renderRollbackResult(undone));
          return;
        }
        if (!opts.run)
          throw new WardenError('usage', 'say which run to roll back: --run ID|last (or --undo ROLLBACK)', 2);
        const run = parseRunRef(opts.run);
        const paths = opts.path.map((p) =>
          p.startsWith('/') || p.startsWith('**') ? p : join(process.cwd(), p),
        );
        const plan = await c.call('rollback.plan', { run, paths, all: !!opts.all });
        if (opts.dryRun) {
          if (opts.json) printJson(plan);
          else process.stdout.write(renderPlan(plan));
          return;
        }
        if (!opts.json) process.stdout.write(renderPlan(plan));
        if (!opts.yes) {
          if (!process.stdin.isTTY) {
            throw new WardenError(
              'confirm',
              'not applying without confirmation: pass --yes (or --dry-run to only see the plan)',
              2,
            );
          }
          const rl = createInterface({ input: process.stdin, output: process.stdout });
          const answer = await rl.question('Apply this rollback? [y/N] ');
          rl.close();
          if (!/^y(es)?$/i.test(answer.trim())) {
            process.stdout.write('Nothing changed.\n');
            return;
          }
        }
        const result = await c.call('rollback.apply', { run, paths, all: !!opts.all, force: !!opts.force });
        if (opts.json) printJson(result);
        else process.stdout.write(renderRollbackResult(result));
      }),
  );

registerHoldCommands(program, stateOption);
registerJournalCommands(program);
(await import('./cmd-ui.js')).registerUiCommand(program, stateOption);
(await import('./cmd-messages.js')).registerMessagesCommands(program, stateOption);
(await import('./cmd-mcp.js')).registerMcpCommands(program, stateOption);
(await import('./cmd-watch.js')).registerWatchCommands(program, stateOption);
(await import('../net/cli.js')).registerNetCommands(program, stateOption);

const policy = program.command('policy').description('check and show policies');
policy
  .command('check')
  .description('validate policy files; errors are reported as file:line:column')
  .argument('<files...>', 'policy YAML files')
  .option('--json', 'machine-readable output')
  .action(async (files: string[], opts: { json?: boolean }) => {
    const { checkPolicyFiles, formatIssue } = await import('../policy/index.js');
    const issues = checkPolicyFiles(files);
    if (opts.json) printJson(issues);
    else if (issues.length === 0) process.stdout.write(`${files.length} policy file(s) OK\n`);
    else process.stderr.write(issues.map(formatIssue).join('\n') + '\n');
    if (issues.length > 0) process.exitCode = 2;
  });
policy
  .command('show')
  .description('the rules in effect, in evaluation order (first match wins)')
  .option(
    '--policy <file>',
    'include an extra policy file (repeatable)',
    (v: string, acc: string[]) => [...acc, v],
    [],
  )
  .option('--json', 'machine-readable output')
  .addOption(stateOption())
  .action(async (opts: GlobalOpts & { policy: string[]; json?: boolean }) =>
    withDaemon(opts, async (c) => {
      const rules = (await c.call('policy.show', {
        policies: opts.policy.map((p) => join(process.cwd(), p)),
      })) as {
        id: string;
        band: string;
        decision: string;
        ops: string[];
        patterns: string[];
      }[];
      if (opts.json) return printJson(rules);
      for (const r of rules) {
        process.stdout.write(
          `${r.band.padEnd(14)} ${r.id.padEnd(30)} ${r.decision.padEnd(6)} ${r.ops.join(',')}  ${r.patterns.join(' ')}\n`,
        );
      }
    }),
  );

program
  .command('status')
  .description('is the daemon running, where is the state, which mechanisms are active')
  .option('--json', 'machine-readable output')
  .addOption(stateOption())
  .action(async (opts: GlobalOpts & { json?: boolean }) => {
    const { socketAlive } = await import('../daemon/server.js');
    const layout = ensureStateDir(chooseStateDir(opts.state));
    const alive = await socketAlive(layout.socket);
    let daemon: unknown = null;
    if (alive) {
      const c = await DaemonClient.connect(layout.socket);
      daemon = await c.call('status', {});
      c.close();
    }
    const helper = helperBinary('warden-supervise');
    const status = { state: layout.dir, daemon, helper: existsSync(helper) ? helper : null };
    if (opts.json) return printJson(status);
    const { netnsProblem } = await import('../net/netns.js');
    const netProblem = netnsProblem();
    const watch = (daemon as { extensions?: { watch?: WatchStatus } } | null)?.extensions?.watch;
    process.stdout.write(
      `state dir: ${layout.dir}\n` +
        `daemon:    ${alive ? `running (pid ${(daemon as { pid: number }).pid})` : 'not running (starts on demand)'}\n` +
        `helper:    ${status.helper ?? 'NOT BUILT — run `npm run build`'}\n` +
        `network:   ${netProblem === null ? 'isolated runs (network namespace + egress proxy)' : `host only: ${netProblem}`}\n` +
        `watch:     ${watchLine(watch)}\n`,
    );
  });

program
  .command('daemon')
  .description('run the daemon in the foreground (normally started on demand by `warden run`)')
  .option(
    '--idle-exit <seconds>',
    'exit after this long with no client and no run (0 = never)',
    (v) => Number(v),
    0,
  )
  .option(
    '--http-port <port>',
    'TCP port of the HTTP API on 127.0.0.1 (0 = any free port)',
    (v) => Number(v),
    0,
  )
  .option('--stop', 'stop the running daemon instead')
  .addOption(stateOption())
  .action(async (opts: GlobalOpts & { idleExit: number; httpPort: number; stop?: boolean }) => {
    const { startDaemon, socketAlive } = await import('../daemon/server.js');
    const layout = ensureStateDir(chooseStateDir(opts.state));
    if (opts.stop) {
      if (!(await socketAlive(layout.socket))) return void process.stdout.write('no daemon running\n');
      const c = await DaemonClient.connect(layout.socket);
      await c.call('shutdown', {});
      c.close();
      return void process.stdout.write('daemon stopping\n');
    }
    const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
    const { stop } = await startDaemon(layout, { idleExitSec: opts.idleExit, log, httpPort: opts.httpPort });
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => void stop());
  });

program.parseAsync(process.argv).catch(fail);
