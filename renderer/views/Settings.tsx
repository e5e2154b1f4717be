import { useEffect } from 'react';
import { useConnection } from '../stores/connection';
import { useSettings } from '../stores/settings';
import { WatchMode } from './WatchMode';

/** While Settings is open the daemon's status (watch mode's faults, canary) is refetched this often. */
export const STATUS_RELOAD_MS = 5000;

export function Settings() {
  const { daemon, daemonError, status, refreshDaemon } = useConnection();
  const { notifications, setNotifications } = useSettings();
  useEffect(() => {
    void refreshDaemon();
    const t = setInterval(() => void refreshDaemon(), STATUS_RELOAD_MS);
    return () => clearInterval(t);
  }, [refreshDaemon]);

  const toggle = (on: boolean) => {
    setNotifications(on);
    const N = (globalThis as { Notification?: typeof Notification }).Notification;
    if (on && N && N.permission === 'default') void N.requestPermission();
  };

  return (
    <section className="view settings" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <section aria-labelledby="daemon-title" data-testid="daemon-status">
        <h3 id="daemon-title">Daemon</h3>
        <p>
          Connection: <strong>{status}</strong>
        </p>
        {daemonError && <p className="error">{daemonError}</p>}
        {daemon && (
          <dl>
            <dt>Process</dt>
            <dd>pid {daemon.pid}</dd>
            <dt>State directory</dt>
            <dd>
              <code>{daemon.state}</code>
            </dd>
            <dt>Runs in progress</dt>
            <dd>{daemon.runsInProgress.length ? daemon.runsInProgress.join(', ') : 'none'}</dd>
            <dt>Supervisor helper</dt>
            <dd>{daemon.helper ? <code>{daemon.helper}</code> : 'not built'}</dd>
            <dt>Last run</dt>
            <dd>{daemon.lastRun ? `run ${daemon.lastRun.id} (${daemon.lastRun.status})` : 'none'}</dd>
          </dl>
        )}
        <button type="button" onClick={() => void refreshDaemon()}>
          Refresh
        </button>
      </section>
      <WatchMode daemon={daemon} />
      <section aria-labelledby="notif-title">
        <h3 id="notif-title">Notifications</h3>
        <label className="field">
          <input
            type="checkbox"
            data-testid="settings-notifications"
            checked={notifications}
            onChange={(e) => toggle(e.target.checked)}
          />{' '}
          Notify me when a hold waits for an answer (stored in this browser)
        </label>
      </section>
      <section aria-labelledby="timing-title">
        <h3 id="timing-title">Delays and timeouts</h3>
        <p>
          How long a delete is delayed, how long an ask waits and what happens then are policy, not app
          settings: they live in a band's <code>settings:</code> block (<code>delete_delay</code>,{' '}
          <code>ask_timeout</code>, <code>bulk: {'{count, window}'}</code>, <code>burst_idle</code>,{' '}
          <code>repeat</code>); a later band overrides an earlier one key by key. A rule can set its own{' '}
          <code>delay</code>, <code>timeout</code> and <code>fallback</code>.
        </p>
      </section>
    </section>
  );
}
