/**
 * `warden pending`, `warden approve`, `warden deny`, `warden cancel`: answering holds from a terminal.
 */
import type { Command } from 'commander';
import { holdSchema } from '../api/contract.js';
import { WardenError } from '../util/errors.js';
import { printJson, withDaemon, type GlobalOpts } from './common.js';
import { renderHold } from './holds-view.js';

const idArg = (id: string) => {
  if (!/^\d+-\d+$/.test(id))
    throw new WardenError('bad-hold', `a hold id looks like 12-3 (run-hold), not ${JSON.stringify(id)}`, 2);
  return id;
};

/** Registers the hold commands on `program`; `stateOption` makes the shared `--state` option. */
export function registerHoldCommands(program: Command, stateOption: () => import('commander').Option): void {
  program
    .command('pending')
    .description('holds waiting for a decision, oldest first')
    .option('--run <id>', 'only holds of this run', (v) => Number(v))
    .option('--json', 'machine-readable output')
    .addOption(stateOption())
    .action(async (opts: GlobalOpts & { run?: number; json?: boolean }) =>
      withDaemon(opts, async (c) => {
        const holds = holdSchema.array().parse(await c.call('holds.list', opts.run ? { run: opts.run } : {}));
        if (opts.json) return printJson(holds);
        if (holds.length === 0) return void process.stdout.write('No holds are waiting.\n');
        process.stdout.write(holds.map((h) => renderHold(h)).join('\n\n') + '\n');
      }),
    );

  const answer = (name: string, description: string, decision: 'allow' | 'deny', withFor: boolean) => {
    const cmd = program
      .command(name)
      .description(description)
      .argument('<id>', 'hold id, e.g. 12-3 (see `warden pending`)');
    if (withFor) {
      cmd.option(
        '--for <scope>',
        'once (default), burst (the rest of this process burst), run, or always (writes a rule)',
        'once',
      );
    }
    cmd.addOption(stateOption()).action(async (id: string, opts: GlobalOpts & { for?: string }) =>
      withDaemon(opts, async (c) => {
        const scope = (opts.for ?? 'once') as 'once' | 'burst' | 'run' | 'always';
        if (!['once', 'burst', 'run', 'always'].includes(scope)) {
          throw new WardenError(
            'bad-scope',
            `--for takes once, burst, run or always, not ${JSON.stringify(opts.for)}`,
            2,
          );
        }
        const r = (await c.call('holds.decide', { id: idArg(id), decision, scope })) as {
          rule?: string | null;
        };
        process.stdout.write(
          `${decision === 'allow' ? 'allowed' : 'denied'} hold ${id}${scope !== 'once' ? ` (${scope})` : ''}\n`,
        );
        if (r.rule) process.stdout.write(`wrote this rule for later runs:\n${r.rule}`);
      }),
    );
  };
  answer('approve', 'allow a held event', 'allow', true);
  answer('deny', 'deny a held event (for a delete: the rest of that delete burst too)', 'deny', false);
  answer(
    'cancel',
    'cancel a delayed event before its delay ends (for a delete: the whole burst)',
    'deny',
    false,
  );
}
