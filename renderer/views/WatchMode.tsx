// The "Watch mode" section of Settings: how the root helper `warden-watch` is doing, from
// `status.extensions.watch` (core/watch/daemon.ts). Watch mode fails open (fanotify lets events through when
// the helper dies), so a fault is shown loudly, never hidden.
import { Fragment } from 'react';
import { formatAgo, formatTime } from '../app/format';
import { useNow } from '../app/useNow';
import type { DaemonStatus, WatchFault, WatchStatus } from '../stores/types';

/** What each mechanism of `hello.mech` (helper/linux/WIRE.md §5.2) is, in the field's words. */
const MECHANISMS: Record<string, { label: string; does: string }> = {
  fanotify_perm: {
    label: 'fanotify permission events',
    does: 'holds an agent’s open for write until a copy-before-write pre-image is stored',
  },
  fanotify_name: {
    label: 'fanotify name events',
    does: 'creates, deletes, renames and attribute changes for the timeline',
  },
  ebpf_tracepoints: {
    label: 'eBPF process tracking',
    does: 'tracepoints on fork, exec and exit keep the agent process tree',
  },
  bpf_lsm: { label: 'BPF LSM', does: 'denies deletes and renames before they happen' },
  connect4: {
    label: 'Egress steering',
    does: 'cgroup/connect4 and connect6 send agent-tree TCP connections into the egress proxy',
  },
  freezer: { label: 'Freezer', does: 'stops a runaway agent tree when the bulk-delete gate trips' },
  shadow: { label: 'Delete shadow', does: 'hardlinks that keep deleted files restorable' },
};

const FREEZERS: Record<string, string> = {
  cgroup2: 'cgroup v2 freezer',
  sigstop: 'SIGSTOP fallback (no cgroup v2 freezer)',
};

/** A mechanism is active when its sentence says so (the freezer names its kind instead). */
export function mechanismActive(name: string, sentence: string): boolean {
  if (name === 'freezer') return sentence in FREEZERS;
  return /^active\b/.test(sentence);
}

const COUNTERS: [key: string, label: string][] = [
  ['trees', 'Agent trees'],
  ['permEvents', 'fanotify permission events'],
  ['permAgent', '… of them by agent trees'],
  ['nameEvents', 'fanotify name events'],
  ['shadowFiles', 'Files in the shadow'],
];

function HowToStart() {
  return (
    <p>
      Start it as root: <code>sudo warden watch install</code> (a systemd unit, started at boot) or{' '}
      <code>sudo warden watch --foreground</code> (in a terminal). <code>warden watch status</code> shows the
      same as this section.
    </p>
  );
}

function FaultAlert({ fault, now }: { fault: WatchFault | null; now: number }) {
  return (
    <div className="alert" role="alert" data-testid="watch-fault">
      <p>
        <strong>Watch mode fault{fault ? `: ${fault.what}` : ''}</strong>
      </p>
      {fault && (
        <p>
          Since <time dateTime={new Date(fault.ts).toISOString()}>{formatTime(fault.ts)}</time> (
          {formatAgo(fault.ts, now)}).
        </p>
      )}
      <p>
        Watch mode fails open: while this lasts fanotify lets agents’ file operations through without a
        pre-image, so they may not be restorable. Runs in progress carry this fault in their timeline.
      </p>
    </div>
  );
}

function RecentFaults({ faults, now }: { faults: WatchFault[]; now: number }) {
  if (faults.length === 0) return null;
  return (
    <section aria-labelledby="watch-faults-title">
      <h4 id="watch-faults-title">Recent faults</h4>
      <ul className="watch-faults" data-testid="watch-recent-faults">
        {[...faults].reverse().map((f, i) => (
          <li key={`${f.ts}-${i}`}>
            <time dateTime={new Date(f.ts).toISOString()} title={formatTime(f.ts)}>
              {formatAgo(f.ts, now)}
            </time>
            : {f.what}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Mechanisms({ mechanisms }: { mechanisms: Record<string, string> }) {
  const entries = Object.entries(mechanisms);
  if (entries.length === 0) return null;
  return (
    <section aria-labelledby="watch-mech-title">
      <h4 id="watch-mech-title">Mechanisms</h4>
      <ul className="mechanisms" data-testid="watch-mechanisms">
        {entries.map(([name, sentence]) => {
          const on = mechanismActive(name, sentence);
          const m = MECHANISMS[name];
          return (
            <li key={name} data-testid="watch-mechanism" data-mechanism={name} data-active={on}>
              <span className={`badge ${on ? 'dec-allow' : 'dec-deny'}`} data-testid="mechanism-state">
                {on ? 'active' : 'not active'}
              </span>{' '}
              <strong>{m?.label ?? name}</strong> <code className="muted">{name}</code>
              {m && <span className="muted"> — {m.does}</span>}
              <div className="mech-sentence">
                {sentence}
                {name === 'freezer' && FREEZERS[sentence] ? ` (${FREEZERS[sentence]})` : ''}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

export function WatchMode({ daemon }: { daemon: DaemonStatus | null }) {
  const now = useNow(1000);
  const w: WatchStatus | undefined = daemon?.extensions?.watch;
  const faulty = !!w && (w.ok === false || !!w.fault);
  const faults = w?.recentFaults ?? [];
  const counters = Object.entries(w?.counters ?? {});
  const canary = w?.canary;

  return (
    <section aria-labelledby="watch-title" data-testid="watch-status" className="watch">
      <h3 id="watch-title">Watch mode</h3>
      <p className="muted">
        System-wide guarding of agents not started through <code>warden run</code>, by the root helper{' '}
        <code>warden-watch</code>.
      </p>
      {!daemon ? (
        <p>Unknown until the daemon answers.</p>
      ) : (
        <>
          {faulty && <FaultAlert fault={w?.fault ?? null} now={now} />}
          {!w?.connected ? (
            <>
              <p data-testid="watch-off">
                <strong>{faulty ? 'The watch helper is not connected' : 'Watch mode is not running'}</strong>:
                agents started outside <code>warden run</code> are not guarded
                {w?.socket ? (
                  <>
                    {' '}
                    (no root helper on <code>{w.socket}</code>)
                  </>
                ) : null}
                .
              </p>
              <HowToStart />
            </>
          ) : (
            <>
              <p data-testid="watch-on">
                <strong>{faulty ? 'Connected, with a fault' : 'Guarding'}</strong>
              </p>
              <dl>
                <dt>Helper</dt>
                <dd>
                  <code>warden-watch</code> pid {w.helperPid ?? '?'}
                </dd>
                <dt>Watched roots</dt>
                <dd>
                  {w.roots?.length ? (
                    <ul className="plain">
                      {w.roots.map((r) => (
                        <li key={r}>
                          <code>{r}</code>
                        </li>
                      ))}
                    </ul>
                  ) : (
                    'none'
                  )}
                </dd>
                <dt>Canary</dt>
                <dd data-testid="watch-canary">
                  {canary?.lastOk ? (
                    <>
                      last OK{' '}
                      <time
                        dateTime={new Date(canary.lastOk).toISOString()}
                        title={formatTime(canary.lastOk)}
                      >
                        {formatAgo(canary.lastOk, now)}
                      </time>
                    </>
                  ) : (
                    <span className="warn">not seen yet</span>
                  )}
                  {canary?.path && (
                    <>
                      {' '}
                      (<code>{canary.path}</code>)
                    </>
                  )}
                </dd>
                <dt>Last heartbeat</dt>
                <dd>{formatAgo(w.lastHeartbeat, now)}</dd>
                <dt>Runs in progress</dt>
                <dd>{w.runsInProgress?.length ? w.runsInProgress.join(', ') : 'none'}</dd>
              </dl>
              <Mechanisms mechanisms={w.mechanisms ?? {}} />
              {counters.length > 0 && (
                <section aria-labelledby="watch-counters-title">
                  <h4 id="watch-counters-title">Counters</h4>
                  <dl data-testid="watch-counters">
                    {counters.map(([k, v]) => (
                      <Fragment key={k}>
                        <dt>{COUNTERS.find(([key]) => key === k)?.[1] ?? k}</dt>
                        <dd>{typeof v === 'number' ? v.toLocaleString() : String(v)}</dd>
                      </Fragment>
                    ))}
                  </dl>
                </section>
              )}
            </>
          )}
          <RecentFaults faults={faults} now={now} />
        </>
      )}
    </section>
  );
}
