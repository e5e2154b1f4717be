import { useEffect } from 'react';
import { usePolicies } from '../stores/policies';

export function Policies() {
  const { rules, loaded, error, load } = usePolicies();
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section className="view policies" aria-labelledby="policies-title">
      <h2 id="policies-title">Policies</h2>
      <p className="muted">
        The rules in effect, first match wins, in band order. Edit the YAML bands (shipped in{' '}
        <code>policies/</code>, yours in the state dir's <code>policies/</code>); check them with{' '}
        <code>warden policy check FILE</code>.
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!loaded && <p>Loading…</p>}
      {loaded && rules.length > 0 && (
        <table className="rules" data-testid="policy-table">
          <thead>
            <tr>
              <th scope="col">Band</th>
              <th scope="col">Rule</th>
              <th scope="col">Decision</th>
              <th scope="col">Ops</th>
              <th scope="col">Patterns</th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r, i) => (
              <tr key={`${r.band}/${r.id}/${i}`} data-testid="policy-rule" data-rule-id={r.id}>
                <td>{r.band}</td>
                <td>
                  <code>{r.id}</code>
                </td>
                <td>
                  <span className={`badge dec-${r.decision}`}>{r.decision}</span>
                </td>
                <td>{r.ops.join(', ')}</td>
                <td>
                  {r.patterns.map((p) => (
                    <code key={p} className="pattern">
                      {p}
                    </code>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
