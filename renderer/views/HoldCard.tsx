import { forwardRef, useState, type KeyboardEvent } from 'react';
import type { Hold } from '../../core/api/contract';
import { formatArgv, formatBytes, formatCountdown, plural } from '../app/format';
import { alwaysRulePreview } from './alwaysRule';
import type { Scope } from '../stores/holds';

export interface HoldCardProps {
  hold: Hold;
  now: number;
  busy: boolean;
  error: string | undefined;
  onDecide(decision: 'allow' | 'deny', scope: Scope): void;
  /** ArrowUp / ArrowDown on the card. */
  onMove(delta: -1 | 1): void;
}

export function HoldPreview({ hold }: { hold: Hold }) {
  const p = hold.preview;
  if (!p) return null;
  let body;
  switch (p.kind) {
    case 'delete':
      body = (
        <>
          <p>
            Would delete <strong>{plural(p.files, 'file')}</strong>, {formatBytes(p.bytes)}
            {p.truncated ? ' (count still growing)' : ''}
          </p>
          {p.top.length > 0 && (
            <ul className="preview-top" aria-label="Top directories">
              {p.top.map((t) => (
                <li key={t.path}>
                  <code>{t.path}</code> — {plural(t.files, 'file')}, {formatBytes(t.bytes)}
                </li>
              ))}
            </ul>
          )}
        </>
      );
      break;
    case 'command':
      body = (
        <>
          <p>{p.title}</p>
          <pre className="preview-lines">
            {p.lines.join('\n')}
            {p.truncated ? '\n…' : ''}
          </pre>
        </>
      );
      break;
    case 'mode':
      body = (
        <p>
          Mode <code>{p.before}</code> → <code>{p.after}</code>
        </p>
      );
      break;
    case 'diff':
      body = (
        <pre className="preview-lines">
          {p.text}
          {p.truncated ? '\n…' : ''}
        </pre>
      );
      break;
  }
  return (
    <section className="hold-preview" data-testid="hold-preview" data-kind={p.kind} aria-label="Preview">
      {body}
    </section>
  );
}

export const HoldCard = forwardRef<HTMLElement, HoldCardProps>(function HoldCard(
  { hold, now, busy, error, onDecide, onMove },
  ref,
) {
  const [confirmAlways, setConfirmAlways] = useState(false);
  const left = hold.deadline - now;
  const fallbackText = hold.fallback === 'allow' ? 'it will be allowed' : 'it will be denied';
  const isDelete = hold.op === 'delete';

  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    const onButton = (e.target as HTMLElement).tagName === 'BUTTON';
    if (e.key === 'Enter' && !onButton && !confirmAlways) {
      e.preventDefault();
      onDecide('allow', 'once');
    } else if (e.key === 'Escape') {
      e.preventDefault();
      if (confirmAlways) setConfirmAlways(false);
      else onDecide('deny', 'once');
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      onMove(e.key === 'ArrowDown' ? 1 : -1);
    }
  };

  return (
    <article
      ref={ref}
      className={`hold-card${busy ? ' busy' : ''}`}
      data-testid="hold-card"
      data-hold-id={hold.id}
      tabIndex={0}
      aria-labelledby={`hold-title-${hold.id}`}
      aria-describedby={`hold-countdown-${hold.id}`}
      aria-busy={busy}
      onKeyDown={onKeyDown}
    >
      <header className="hold-head">
        <h3 id={`hold-title-${hold.id}`}>
          <span className={`badge op-${hold.op}`}>{hold.op}</span> Hold {hold.id}{' '}
          <span className="muted">
            (run {hold.run}, {hold.decision === 'delay' ? 'delayed' : 'asks you'})
          </span>
        </h3>
        <p
          className={`hold-countdown${left < 15000 ? ' urgent' : ''}`}
          data-testid="hold-countdown"
          id={`hold-countdown-${hold.id}`}
        >
          {left > 0 ? (
            <>
              <span className="countdown-time">{formatCountdown(left)}</span> left — then {fallbackText} (
              {hold.fallback === 'allow' ? 'fallback: allow' : 'fallback: deny'})
            </>
          ) : (
            <>Deadline passed — {hold.fallback === 'allow' ? 'allowed' : 'denied'} by fallback</>
          )}
        </p>
      </header>

      <dl className="hold-facts">
        <dt>Who</dt>
        <dd>
          <code>{formatArgv(hold.argv)}</code>{' '}
          <span className="muted">
            (pid {hold.pid}
            {hold.cwd ? `, in ${hold.cwd}` : ''})
          </span>
          {hold.chain.length > 0 && (
            <ol className="chain" aria-label="Process chain">
              {hold.chain.map((c) => (
                <li key={c.pid}>
                  <span className="muted">{c.pid}</span> <code>{formatArgv(c.argv)}</code>
                </li>
              ))}
            </ol>
          )}
        </dd>
        <dt>What</dt>
        <dd>
          <strong>{hold.op}</strong>
          {hold.sys ? <span className="muted"> ({hold.sys})</span> : null}{' '}
          {hold.path && <code>{hold.path}</code>}
          {hold.path2 && (
            <>
              {' '}
              → <code>{hold.path2}</code>
            </>
          )}
          {hold.burst && (
            <div className="muted">
              Burst under <code>{hold.burst.root}</code>: {plural(hold.burst.count, 'event')} so far
            </div>
          )}
        </dd>
        <dt>Why</dt>
        <dd>
          Rule <code>{hold.rule}</code> in band <code>{hold.band}</code>
          {hold.reason === 'bulk' && ' — bulk-delete gate tripped'}
          {hold.reason === 'repeat' && ' — the same command repeated'}
          {hold.why ? <div>{hold.why}</div> : null}
        </dd>
      </dl>

      <HoldPreview hold={hold} />

      {isDelete && (
        <p className="note">
          Pre-images are kept: a restore can bring these files back. Deny stops the rest of this delete burst.
        </p>
      )}
      {hold.irreversible && (
        <p className="note warn" role="note">
          Cannot be undone by a restore: {hold.irreversible}
        </p>
      )}

      {confirmAlways ? (
        <div className="confirm" role="group" aria-label="Confirm always allow">
          <p>
            <strong>Always allow writes a rule for later runs</strong> (in your policy band{' '}
            <code>05-always.yaml</code>):
          </p>
          <pre className="rule-preview" data-testid="hold-always-rule">
            {alwaysRulePreview(hold)}
          </pre>
          <div className="actions">
            <button
              type="button"
              className="primary"
              data-testid="hold-allow-always-confirm"
              disabled={busy}
              onClick={() => onDecide('allow', 'always')}
            >
              Write rule and allow
            </button>
            <button
              type="button"
              data-testid="hold-allow-always-cancel"
              onClick={() => setConfirmAlways(false)}
            >
              Cancel
            </button>
          </div>
        </div>
      ) : (
        <div className="actions">
          <button
            type="button"
            className="primary"
            data-testid="hold-allow-once"
            disabled={busy}
            onClick={() => onDecide('allow', 'once')}
            title="Enter"
          >
            Allow once
          </button>
          <button
            type="button"
            data-testid="hold-allow-run"
            disabled={busy}
            onClick={() => onDecide('allow', 'run')}
          >
            Allow for this run
          </button>
          <button
            type="button"
            data-testid="hold-allow-always"
            disabled={busy}
            onClick={() => setConfirmAlways(true)}
            title="Always allow writes a rule for later runs"
          >
            Always allow…
          </button>
          <button
            type="button"
            className="danger"
            data-testid="hold-deny"
            disabled={busy}
            onClick={() => onDecide('deny', 'once')}
            title="Esc"
          >
            Deny
          </button>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </article>
  );
});
