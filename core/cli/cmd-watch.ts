/**
 * `warden watch …`: system-wide watch mode (issue 7). `--foreground` runs the root helper `warden-watch` in
 * this terminal with a config compiled from the policy; `install` writes (and, where systemd is, enables) a
 * unit that does the same at boot; `status` asks the daemon how the helper is doing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command, Option } from 'commander';
import { PREIMAGE_MAX_BYTES, policyFiles } from '../daemon/policy-files.js';
import { chooseStateDir, ensureStateDir, helperBinary, packageRoot } from '../util/paths.js';
import { WardenError } from '../util/errors.js';
import { agentSelectors, renderWatchConfig, watchSettings, type WatchConfig } from '../watch/config.js';
import { DEFAULT_WATCH_SOCKET } from '../watch/socket.js';
import { printJson, withDaemon, type GlobalOpts } from './common.js';

interface WatchOpts extends GlobalOpts {
  root?: string[];
  deny?: string[];
  socket?: string;
  shadow?: string;
  uid?: string;
  policy?: string[];
  bulkDeny?: string;
  bpf?: boolean;
  lazy?: boolean;
  egress?: boolean;
}

const collect = (v: string, acc: string[] = []) => [...acc, v];

function realDir(p: string, what: string): string {
  try {
    return realpathSync(resolve(p));
  } catch {
    throw new WardenError('bad-path', `${what} ${p} does not exist: create it or pass another --${what}`, 2);
  }
}

/**
 * Compiles the helper config from the policy and the options. The state dir is created if missing.
 * @throws WardenError for a missing root or --deny dir, a bad --bulk-deny, or an invalid policy.
 */
export function buildWatchConfig(opts: WatchOpts): WatchConfig {
  const layout = ensureStateDir(chooseStateDir(opts.state));
  const files = policyFiles(
    layout,
    (opts.policy ?? []).map((p) => resolve(p)),
  );
  const uidText = opts.uid ?? process.env.SUDO_UID ?? String(process.getuid?.() ?? 0);
  if (!/^\d+$/.test(uidText)) throw new WardenError('bad-uid', `--uid takes a number, not ${uidText}`, 2);
  const bulkDeny = opts.bulkDeny ?? 'kill';
  if (bulkDeny !== 'kill' && bulkDeny !== 'thaw')
    throw new WardenError('bad-option', `--bulk-deny takes kill or thaw, not ${bulkDeny}`, 2);
  const roots = (opts.root?.length ? opts.root : [process.env.HOME || homedir()]).map((r) =>
    realDir(r, 'root'),
  );
  const s = watchSettings(files);
  return {
    socket: resolve(opts.socket ?? process.env.WARDEN_WATCH_SOCKET ?? DEFAULT_WATCH_SOCKET),
    shadow: resolve(opts.shadow ?? join(layout.dir, 'watch-shadow')),
    roots,
    deny: (opts.deny ?? []).map((d) => realDir(d, 'deny')),
    agents: agentSelectors(files),
    users: [{ uid: Number(uidText), state: layout.dir }],
    bulk: s.bulk,
    askTimeoutMs: s.askTimeoutMs,
    bulkDeny,
    preimageMax: PREIMAGE_MAX_BYTES,
    noBpf: opts.bpf === false,
    lazyPerm: opts.lazy === true,
    egress: opts.egress === false ? 'off' : 'steer',
  };
}

/** systemd's quoting for one ExecStart argument (systemd.service(5) "Command lines"). */
function unitArg(a: string): string {
  return `"${a.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

function addCommonOptions(cmd: Command, stateOption: () => Option): Command {
  return cmd
    .option('--root <dir>', 'a watched root, repeatable (default: $HOME)', collect)
    .option(
      '--deny <dir>',
      'agents may not write beneath this dir, nor delete or rename there where BPF LSM is allowed; repeatable',
      collect,
    )
    .option(
      '--socket <path>',
      `the helper's socket (default: $WARDEN_WATCH_SOCKET or ${DEFAULT_WATCH_SOCKET})`,
    )
    .option('--shadow <dir>', "the delete shadow, on the roots' filesystem (default: <state>/watch-shadow)")
    .option('--uid <n>', 'the user whose daemon gets the events (default: $SUDO_UID, else this user)')
    .option('--policy <file>', 'an extra policy file, repeatable', collect)
    .option('--bulk-deny <what>', 'a denied bulk-delete hold kills the frozen tree (kill) or thaws it (thaw)')
    .option('--no-bpf', 'do not load the eBPF programs; walk /proc every 250 ms instead')
    .option(
      '--no-egress',
      "do not steer agents' TCP connections into the egress proxy (cgroup/connect4/6); they then go out unchecked",
    )
    .option(
      '--lazy',
      "hold opens only while an agent runs (no cost otherwise; an agent's first milliseconds are not held)",
    )
    .addOption(stateOption());
}

/** Registers `warden watch`, `warden watch install` and `warden watch status`. */
export function registerWatchCommands(program: Command, stateOption: () => Option): void {
  const watch = addCommonOptions(
    program
      .command('watch')
      .description(
        'system-wide watch mode (root): guard agents that were not started with `warden run` (fanotify + eBPF)',
      )
      .option('--foreground', 'run the root helper in this terminal until Ctrl-C'),
    stateOption,
  ).action(async (opts: WatchOpts & { foreground?: boolean }) => {
    if (!opts.foreground) {
      watch.outputHelp();
      return;
    }
    const bin = helperBinary('warden-watch');
    if (!existsSync(bin))
      throw new WardenError(
        'helper-missing',
        `${bin} is not built: install clang, libbpf-dev and bpftool (apt-get install -y clang libbpf-dev bpftool), then run \`npm run build\``,
      );
    if (process.getuid?.() !== 0)
      throw new WardenError(
        'needs-root',
        'watch mode needs root (fanotify permission events and eBPF): run `sudo warden watch --foreground` or `sudo warden watch install`',
      );
    const cfg = buildWatchConfig(opts);
    mkdirSync(dirname(cfg.socket), { recursive: true, mode: 0o755 });
    const confPath = join(dirname(cfg.socket), 'watch.conf');
    writeFileSync(confPath, renderWatchConfig(cfg), { mode: 0o600 });
    const child = spawn(bin, ['--config', confPath], { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((res) => child.on('exit', (c, sig) => res(c ?? (sig ? 128 : 1))));
    process.exitCode = code;
  });

  addCommonOptions(
    watch
      .command('install')
      .description('write a systemd unit that runs `warden watch --foreground` at boot, and enable it')
      .option(
        '--unit-dir <dir>',
        'where to write the unit (default /etc/systemd/system); given: systemctl is not run',
      )
      .option('--no-enable', 'only write the unit'),
    stateOption,
  ).action((opts: WatchOpts & { unitDir?: string; enable: boolean }) => {
    const cfg = buildWatchConfig(opts); // validates the policy and options now, not at boot
    const args = [
      process.execPath,
      join(packageRoot, 'bin', 'warden.js'),
      'watch',
      '--foreground',
      '--state',
      cfg.users[0]!.state,
      '--uid',
      String(cfg.users[0]!.uid),
      '--socket',
      cfg.socket,
      '--shadow',
      cfg.shadow,
      '--bulk-deny',
      cfg.bulkDeny,
      ...cfg.roots.flatMap((r) => ['--root', r]),
      ...cfg.deny.flatMap((d) => ['--deny', d]),
      ...(opts.policy ?? []).flatMap((p) => ['--policy', resolve(p)]),
      ...(cfg.noBpf ? ['--no-bpf'] : []),
      ...(cfg.lazyPerm ? ['--lazy'] : []),
      ...(cfg.egress === 'off' ? ['--no-egress'] : []),
    ];
    const unit = [
      '[Unit]',
      'Description=Warden watch mode: guards AI agents not started with warden run (fanotify + eBPF)',
      'After=local-fs.target',
      '',
      '[Service]',
      'Type=simple',
      `ExecStart=${args.map(unitArg).join(' ')}`,
      'Restart=always',
      'RestartSec=1',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
    const dir = resolve(opts.unitDir ?? '/etc/systemd/system');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'warden-watch.service');
    writeFileSync(file, unit, { mode: 0o644 });
    process.stdout.write(`wrote ${file}\n`);
    const systemctl = ['/usr/bin/systemctl', '/bin/systemctl'].find((p) => existsSync(p));
    if (opts.unitDir || !opts.enable) {
      process.stdout.write(
        'not enabled: run `systemctl daemon-reload && systemctl enable --now warden-watch`\n',
      );
      return;
    }
    if (!systemctl) {
      process.stdout.write('systemctl not found: start `warden watch --foreground` from your init system\n');
      return;
    }
    for (const a of [['daemon-reload'], ['enable', '--now', 'warden-watch.service']]) {
      const r = spawnSync(systemctl, a, { stdio: 'inherit' });
      if (r.status !== 0)
        throw new WardenError('systemctl-failed', `systemctl ${a.join(' ')} failed (exit ${r.status})`);
    }
    process.stdout.write('enabled and started warden-watch.service\n');
  });

  watch
    .command('status')
    .description('how watch mode is doing: helper connection, active mechanisms, faults')
    .option('--json', 'machine-readable output')
    .addOption(stateOption())
    .action(async (opts: GlobalOpts & { json?: boolean }) =>
      withDaemon(opts, async (c) => {
        const s = (await c.call('watch.status', {})) as Record<string, unknown> & {
          connected: boolean;
          fault: { what: string } | null;
          mechanisms: Record<string, string> | null;
          socket: string;
          roots: string[];
        };
        if (opts.json) return printJson(s);
        const lines = [
          `helper: ${s.connected ? `connected (pid ${String(s.helperPid)})` : `not connected (${s.socket})`}`,
          `fault: ${s.fault ? s.fault.what : 'none'}`,
        ];
        if (s.roots.length) lines.push(`roots: ${s.roots.join(', ')}`);
        for (const [k, v] of Object.entries(s.mechanisms ?? {})) lines.push(`  ${k}: ${v}`);
        process.stdout.write(lines.join('\n') + '\n');
        if (s.fault) process.exitCode = 1;
      }),
    );
}
