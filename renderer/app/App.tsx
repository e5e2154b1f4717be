import { useConnection } from '../stores/connection';
import { useHolds } from '../stores/holds';
import { isCompact, useNav, type View } from '../stores/nav';
import { Inbox } from '../views/Inbox';
import { Timeline } from '../views/Timeline';
import { Restore } from '../views/Restore';
import { Policies } from '../views/Policies';
import { Messages } from '../views/Messages';
import { Settings } from '../views/Settings';

const NAV: { view: View; label: string }[] = [
  { view: 'inbox', label: 'Inbox' },
  { view: 'timeline', label: 'Timeline' },
  { view: 'restore', label: 'Restore' },
  { view: 'messages', label: 'Messages' },
  { view: 'policies', label: 'Policies' },
  { view: 'settings', label: 'Settings' },
];

export function App() {
  const view = useNav((s) => s.view);
  const go = useNav((s) => s.go);
  const status = useConnection((s) => s.status);
  const noToken = useConnection((s) => s.noToken);
  const codeError = useConnection((s) => s.codeError);
  const pending = useHolds((s) => s.holds.length);
  const newest = useHolds((s) => s.holds[0]);

  return (
    <div className={isCompact() ? 'app compact' : 'app'}>
      <header className="topbar">
        <h1 className="brand">Warden</h1>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.view}>
                <button
                  type="button"
                  data-testid={`nav-${n.view}`}
                  aria-current={view === n.view ? 'page' : undefined}
                  className={view === n.view ? 'active' : undefined}
                  onClick={() => go(n.view)}
                >
                  {n.label}
                  {n.view === 'inbox' && (
                    <span
                      className={`count${pending ? ' pending' : ''}`}
                      data-testid="inbox-count"
                      aria-label={`${pending} pending`}
                    >
                      {pending}
                    </span>
                  )}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <span className={`conn conn-${status}`} title={`daemon: ${status}`}>
          {status}
        </span>
      </header>
      {status === 'disconnected' && (
        <div className="banner" role="alert" data-testid="connection-banner">
          Warden daemon unreachable — reconnecting… Pending holds come back when it does (their deadlines keep
          running).
        </div>
      )}
      {noToken && (
        <div className="banner" data-testid="token-missing">
          This page has no access token. Open the address that <code>warden ui</code> prints (it ends in{' '}
          <code>#token=…</code>).
          {codeError && <span data-testid="code-error"> The one-time code did not work: {codeError}</span>}
        </div>
      )}
      <div className="sr-only" role="status" aria-live="polite" aria-atomic="true">
        {pending > 0 && newest
          ? `${pending} hold${pending === 1 ? '' : 's'} pending; newest ${newest.id}: ${newest.op} ${newest.path ?? newest.argv.join(' ')}`
          : 'No holds pending'}
      </div>
      <main className="content">
        {view === 'inbox' && <Inbox />}
        {view === 'timeline' && <Timeline />}
        {view === 'restore' && <Restore />}
        {view === 'messages' && <Messages />}
        {view === 'policies' && <Policies />}
        {view === 'settings' && <Settings />}
      </main>
    </div>
  );
}
