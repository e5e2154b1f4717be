import { useEffect, useMemo, useRef } from 'react';
import { useHolds } from '../stores/holds';
import { useNow } from '../app/useNow';
import { HoldCard } from './HoldCard';

export function Inbox() {
  const holds = useHolds((s) => s.holds);
  const busy = useHolds((s) => s.busy);
  const errors = useHolds((s) => s.decideErrors);
  const error = useHolds((s) => s.error);
  const decide = useHolds((s) => s.decide);
  const denyAllOfRun = useHolds((s) => s.denyAllOfRun);
  const now = useNow(1000);
  const refs = useRef(new Map<string, HTMLElement>());
  const listRef = useRef<HTMLDivElement>(null);

  const runs = useMemo(() => {
    const m = new Map<number, number>();
    for (const h of holds) m.set(h.run, (m.get(h.run) ?? 0) + 1);
    return [...m.entries()].sort((a, b) => b[0] - a[0]);
  }, [holds]);

  // Keyboard-driven: focus the newest card when nothing else has focus.
  const firstId = holds[0]?.id;
  useEffect(() => {
    if (!firstId) return;
    const active = document.activeElement;
    if (!active || active === document.body) refs.current.get(firstId)?.focus();
  }, [firstId]);

  const move = (id: string, delta: -1 | 1) => {
    const i = holds.findIndex((h) => h.id === id);
    const next = holds[Math.min(holds.length - 1, Math.max(0, i + delta))];
    if (next) refs.current.get(next.id)?.focus();
  };

  const decideAndRefocus = (id: string, decision: 'allow' | 'deny', scope: Parameters<typeof decide>[2]) => {
    const i = holds.findIndex((h) => h.id === id);
    const hadFocus = refs.current.get(id)?.contains(document.activeElement) ?? false;
    void decide(id, decision, scope).then(() => {
      if (!hadFocus) return;
      const rest = useHolds.getState().holds;
      const next = rest[Math.min(i, rest.length - 1)];
      if (next) refs.current.get(next.id)?.focus();
    });
  };

  return (
    <section className="view inbox" aria-labelledby="inbox-title">
      <h2 id="inbox-title">Inbox</h2>
      {error && (
        <p className="error" role="alert">
          Could not load pending holds: {error}
        </p>
      )}
      {holds.length === 0 ? (
        <div className="empty" data-testid="inbox-empty">
          <p>
            <strong>Nothing is waiting for you.</strong>
          </p>
          <p>
            Start an agent under Warden (<code>warden run -- claude</code>); when it tries something a rule
            holds — a bulk delete, a force push, a protected path — it appears here with a countdown. Answer
            with the buttons, or with the keyboard: Enter allows once, Esc denies, ↑/↓ move between holds.
          </p>
        </div>
      ) : (
        <>
          <p className="muted">Enter = allow once · Esc = deny · ↑/↓ = next hold. Newest first.</p>
          <div className="bulk" role="group" aria-label="Bulk actions">
            {runs.map(([run, n]) => (
              <button
                key={run}
                type="button"
                className="danger"
                data-testid="hold-deny-all-run"
                data-run-id={run}
                onClick={() => void denyAllOfRun(run)}
              >
                Deny all of run {run} ({n})
              </button>
            ))}
          </div>
          <div className="hold-list" ref={listRef} role="list" aria-label="Pending holds">
            {holds.map((h) => (
              <div role="listitem" key={h.id}>
                <HoldCard
                  ref={(el) => {
                    if (el) refs.current.set(h.id, el);
                    else refs.current.delete(h.id);
                  }}
                  hold={h}
                  now={now}
                  busy={!!busy[h.id]}
                  error={errors[h.id]}
                  onDecide={(d, scope) => decideAndRefocus(h.id, d, scope)}
                  onMove={(delta) => move(h.id, delta)}
                />
              </div>
            ))}
          </div>
        </>
      )}
    </section>
  );
}
