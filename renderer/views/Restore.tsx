import { useEffect } from 'react';
import { useRestore } from '../stores/restore';
import { useRuns } from '../stores/runs';
import { formatArgv, plural } from '../app/format';
import type { ApplyResult } from '../stores/types';

/** Steps rendered at most (a plan can have many thousands; the rest are counted). */
const MAX_STEPS = 500;

function ResultView({ r, title, testid }: { r: ApplyResult; title: string; testid: string }) {
  return (
    <section className="result" data-testid={testid} aria-live="polite">
      <h3>{title}</h3>
      <p>
        <strong>{r.applied.toLocaleString()}</strong> applied · <strong>{r.skipped.toLocaleString()}</strong>{' '}
        skipped · <strong>{r.movedAside.length.toLocaleString()}</strong> moved aside
        {r.errors.length ? (
          <>
            {' '}
            · <strong>{r.errors.length}</strong> failed
          </>
        ) : null}
      </p>
      {r.movedAside.length > 0 && (
        <details>
          <summary>Moved aside (kept, not deleted)</summary>
          <ul>
            {r.movedAside.slice(0, MAX_STEPS).map((m) => (
              <li key={`${m.seq}-${m.path}`}>
                <code>{m.path}</code> → <code>{m.aside}</code>
              </li>
            ))}
          </ul>
        </details>
      )}
      {r.conflicts.length > 0 && (
        <p className="muted">
          {plural(r.conflicts.length, 'conflicting path')} skipped (changed after the run).
        </p>
      )}
      {r.errors.length > 0 && (
        <ul className="error">
          {r.errors.slice(0, 50).map((e, i) => (
            <li key={i}>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Restore() {
  const runs = useRuns((s) => s.runs);
  const loadRuns = useRuns((s) => s.loadRuns);
  const { run, plan, force, result, undoResult, busy, error } = useRestore();
  const pick = useRestore((s) => s.pick);
  const setForce = useRestore((s) => s.setForce);
  const apply = useRestore((s) => s.apply);
  const undo = useRestore((s) => s.undo);

  useEffect(() => {
    if (runs.length === 0) void loadRuns();
  }, [runs.length, loadRuns]);

  const steps = plan?.steps ?? [];
  const conflictCount = steps.filter((s) => s.conflict).length;
  const applicable = force ? steps.length : steps.length - conflictCount;

  return (
    <section className="view restore" aria-labelledby="restore-title">
      <h2 id="restore-title">Restore</h2>
      <p className="muted">
        A restore puts back the files a run changed inside its workspace, from the journal's pre-images. You
        see the plan first (a dry run); anything in the way is moved aside, never deleted, and the restore
        itself can be undone.
      </p>
      <label className="field">
        Run{' '}
        <select
          data-testid="restore-run-select"
          value={run ?? ''}
          onChange={(e) => void pick(e.target.value ? Number(e.target.value) : null)}
        >
          <option value="">Choose a run…</option>
          {run !== null && !runs.some((r) => r.id === run) && <option value={run}>Run {run}</option>}
          {runs.map((r) => (
            <option key={r.id} value={r.id}>
              Run {r.id} — {formatArgv(r.argv)}
            </option>
          ))}
        </select>
      </label>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {busy === 'plan' && <p aria-live="polite">Computing the plan…</p>}
      {plan && (
        <section className="plan" data-testid="restore-plan" aria-label="Dry-run plan">
          <h3>
            Plan for run {plan.run}: {plural(steps.length, 'step')}
            {plan.conflicts.length ? `, ${plural(plan.conflicts.length, 'conflict')}` : ''}
            {plan.irreversible.length ? `, ${plan.irreversible.length} irreversible` : ''}
          </h3>
          {steps.length === 0 && <p>Nothing to restore: this run changed no files in its workspace.</p>}
          {steps.length > 0 && (
            <ol className="steps">
              {steps.slice(0, MAX_STEPS).map((s, i) => (
                <li
                  key={`${s.seq}-${i}`}
                  data-testid="restore-step"
                  data-action={s.action}
                  className={s.conflict ? 'conflicted' : undefined}
                >
                  <span className={`badge act-${s.action}`}>{s.action}</span> <code>{s.path}</code>
                  {s.path2 ? (
                    <>
                      {' '}
                      ← <code>{s.path2}</code>
                    </>
                  ) : null}{' '}
                  <span className="muted">{s.note}</span>
                  {s.conflict ? (
                    <span className="warn"> — conflict{force ? ' (forced)' : ', skipped'}</span>
                  ) : null}
                </li>
              ))}
              {steps.length > MAX_STEPS && (
                <li className="muted">…and {(steps.length - MAX_STEPS).toLocaleString()} more</li>
              )}
            </ol>
          )}
          {plan.conflicts.length > 0 && (
            <section aria-label="Conflicts">
              <h4>Changed after the run (skipped unless forced)</h4>
              <ul>
                {plan.conflicts.map((c) => (
                  <li key={c.path} data-testid="restore-conflict">
                    <code>{c.path}</code>: {c.reason}
                  </li>
                ))}
              </ul>
              <label className="field">
                <input
                  type="checkbox"
                  data-testid="restore-force"
                  checked={force}
                  onChange={(e) => setForce(e.target.checked)}
                />{' '}
                Force: restore these too (what is there now is moved aside first)
              </label>
            </section>
          )}
          {plan.irreversible.length > 0 && (
            <section aria-label="Cannot be undone">
              <h4>Cannot be restored</h4>
              <ul>
                {plan.irreversible.map((s, i) => (
                  <li key={`${s.seq}-${i}`} data-testid="restore-irreversible">
                    <code>{s.path}</code>: {s.note}
                  </li>
                ))}
              </ul>
            </section>
          )}
          <div className="actions">
            <button
              type="button"
              className="primary"
              data-testid="restore-apply"
              disabled={busy !== null || applicable === 0 || (result !== null && undoResult === null)}
              onClick={() => void apply()}
            >
              {busy === 'apply' ? 'Restoring…' : `Restore ${plural(applicable, 'step')}`}
            </button>
          </div>
        </section>
      )}
      {result && (
        <ResultView r={result} title={`Restored (rollback ${result.rollbackId})`} testid="restore-result" />
      )}
      {result && !undoResult && (
        <button type="button" data-testid="restore-undo" disabled={busy !== null} onClick={() => void undo()}>
          {busy === 'undo' ? 'Undoing…' : 'Undo this restore'}
        </button>
      )}
      {undoResult && <ResultView r={undoResult} title="Restore undone" testid="restore-undo-result" />}
    </section>
  );
}
