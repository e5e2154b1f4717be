import { useEffect, useState } from 'react';
import { formatBytes, formatCountdown, formatTime } from '../app/format';
import { useNow } from '../app/useNow';
import { useMessages, type Message } from '../stores/messages';

/** How often the list reloads while the view is open (ms): the daemon does not push message changes yet. */
const RELOAD_MS = 5000;

const waiting = (m: Message) => m.state === 'queued' || m.state === 'edited';

/** The Messages view: outbound messages held for review — edit, send now, cancel. */
export function Messages() {
  const { messages, loaded, error, selected, load, select } = useMessages();
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), RELOAD_MS);
    return () => clearInterval(t);
  }, [load]);
  const now = useNow();
  const current = messages.find((m) => m.id === selected) ?? null;
  return (
    <section className="view messages" aria-labelledby="messages-title">
      <h2 id="messages-title">Messages</h2>
      <p className="muted">
        Mail and MCP sends an agent tried to make. Each waits until its release time; edit it, send it now, or
        cancel it before then.
      </p>
      {error && (
        <p className="error" role="alert" data-testid="messages-error">
          {error}
        </p>
      )}
      {!loaded && <p>Loading…</p>}
      {loaded && messages.length === 0 && <p data-testid="messages-empty">No outbound messages.</p>}
      {messages.length > 0 && (
        <table className="rules" data-testid="messages-table">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">State</th>
              <th scope="col">To</th>
              <th scope="col">Subject</th>
              <th scope="col">Release</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.id} data-testid="message-row" data-message-id={m.id}>
                <td>
                  <button type="button" onClick={() => select(m.id)} aria-label={`Open message ${m.id}`}>
                    {m.id}
                  </button>
                </td>
                <td>
                  <span className={`badge msg-${m.state}`}>{m.state}</span>{' '}
                  <span className="muted">{m.channel}</span>
                </td>
                <td>{m.destination}</td>
                <td>{m.subject}</td>
                <td>
                  {waiting(m)
                    ? `in ${formatCountdown(m.releaseAt - now)}`
                    : m.state === 'sent'
                      ? formatTime(m.sentAt)
                      : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {current && <MessageDetail key={current.id} m={current} />}
    </section>
  );
}

function MessageDetail({ m }: { m: Message }) {
  const { busy, edit, send, cancel } = useMessages();
  const [to, setTo] = useState(m.destination);
  const [subject, setSubject] = useState(m.subject);
  const [body, setBody] = useState(m.body);
  const editable = waiting(m);
  const dirty = to !== m.destination || subject !== m.subject || body !== m.body;
  const disabled = busy === m.id;
  return (
    <article className="message-detail" data-testid="message-detail" aria-label={`Message ${m.id}`}>
      <h3>
        Message {m.id} — {m.state}
        {m.edited ? ' (edited)' : ''}
      </h3>
      <p className="muted">
        {m.channel === 'mcp' ? 'MCP tool call' : 'Mail'} from run {m.run ?? '—'}
        {m.process ? ` (${m.process})` : ''}, queued {formatTime(m.createdAt)}, release{' '}
        {formatTime(m.releaseAt)}
        {m.error ? ` — error: ${m.error}` : ''}
      </p>
      {m.attachments.length > 0 && (
        <p>Attachments: {m.attachments.map((a) => `${a.name} (${formatBytes(a.bytes)})`).join(', ')}</p>
      )}
      <label>
        To
        <input
          value={to}
          disabled={!editable}
          onChange={(e) => setTo(e.target.value)}
          data-testid="message-to"
        />
      </label>
      <label>
        Subject
        <input
          value={subject}
          disabled={!editable}
          onChange={(e) => setSubject(e.target.value)}
          data-testid="message-subject"
        />
      </label>
      <label>
        Body
        <textarea
          value={body}
          rows={10}
          disabled={!editable}
          onChange={(e) => setBody(e.target.value)}
          data-testid="message-body"
        />
      </label>
      {editable && (
        <div className="actions">
          <button
            type="button"
            disabled={disabled || !dirty}
            data-testid="message-save"
            onClick={() =>
              void edit(m.id, {
                ...(to !== m.destination ? { destination: to } : {}),
                ...(subject !== m.subject ? { subject } : {}),
                ...(body !== m.body ? { body } : {}),
              })
            }
          >
            Save changes
          </button>
          <button
            type="button"
            className="primary"
            disabled={disabled || dirty}
            title={dirty ? 'Save or undo your changes first' : undefined}
            data-testid="message-send"
            onClick={() => void send(m.id)}
          >
            Send now
          </button>
          <button
            type="button"
            className="danger"
            disabled={disabled}
            data-testid="message-cancel"
            onClick={() => void cancel(m.id)}
          >
            Cancel message
          </button>
        </div>
      )}
    </article>
  );
}
