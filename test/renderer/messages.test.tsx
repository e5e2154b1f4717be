import { beforeEach, describe, expect, it } from 'vitest';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import type { Message } from '../../core/api/contract-messages';
import { Messages } from '../../renderer/views/Messages';
import { App } from '../../renderer/app/App';
import { useMessages } from '../../renderer/stores/messages';
import { useNav } from '../../renderer/stores/nav';
import { flush, installFake } from './fake';

async function settle() {
  await act(async () => {
    await flush();
    await flush();
  });
}

function makeMessage(over: Partial<Message> = {}): Message {
  return {
    id: 4,
    channel: 'mcp',
    destination: 'mail/send_email → bob@example.test',
    subject: 'Status',
    body: 'draft body',
    attachments: [],
    run: 12,
    pid: 300,
    process: 'warden mcp --name mail (node)',
    createdAt: Date.now() - 1000,
    releaseAt: Date.now() + 299_000,
    state: 'queued',
    edited: false,
    error: null,
    sentAt: null,
    idempotencyKey: 'a'.repeat(32),
    attempts: 0,
    ...over,
  };
}

beforeEach(() => {
  useMessages.setState(useMessages.getInitialState(), true);
});

describe('Messages', () => {
  it('lists the queue and edits a message: only the changed fields go to messages.edit', async () => {
    let current = makeMessage();
    const t = installFake()
      .on('messages.list', () => [current, makeMessage({ id: 3, state: 'sent', subject: 'Old', sentAt: 5 })])
      .on('messages.edit', (p) => {
        current = { ...current, body: p.body as string, state: 'edited', edited: true };
        return current;
      });
    render(<Messages />);
    await settle();
    const rows = screen.getAllByTestId('message-row');
    expect(rows).toHaveLength(2);
    expect(within(rows[0] as HTMLElement).getByText('queued')).toBeTruthy();
    expect(within(rows[0] as HTMLElement).getByText(/in 4:5\d/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Open message 4' }));
    const body = screen.getByTestId('message-body') as HTMLTextAreaElement;
    expect(body.value).toBe('draft body');
    expect((screen.getByTestId('message-save') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(body, { target: { value: 'edited body' } });
    expect((screen.getByTestId('message-send') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId('message-save'));
    await settle();
    expect(t.callsOf('messages.edit')).toEqual([{ id: 4, body: 'edited body' }]);
    expect(screen.getByText(/Message 4 — edited \(edited\)/)).toBeTruthy();
  });

  it('send now and cancel call the daemon; a daemon error is shown', async () => {
    let current = makeMessage();
    const t = installFake()
      .on('messages.list', () => [current])
      .on('messages.send', () => {
        throw new Error('message 4 failed: connection refused');
      })
      .on('messages.cancel', () => (current = { ...current, state: 'cancelled' }));
    render(<Messages />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'Open message 4' }));
    fireEvent.click(screen.getByTestId('message-send'));
    await settle();
    expect(t.callsOf('messages.send')).toEqual([{ id: 4 }]);
    expect(screen.getByTestId('messages-error').textContent).toMatch(/connection refused/);
    fireEvent.click(screen.getByTestId('message-cancel'));
    await settle();
    expect(t.callsOf('messages.cancel')).toEqual([{ id: 4 }]);
    expect(screen.getByText(/Message 4 — cancelled/)).toBeTruthy();
    expect(screen.queryByTestId('message-cancel')).toBeNull();
    expect((screen.getByTestId('message-body') as HTMLTextAreaElement).disabled).toBe(true);
  });

  it('is in the main navigation', async () => {
    installFake()
      .on('messages.list', () => [])
      .on('holds.list', () => [])
      .on('status', () => ({}));
    render(<App />);
    fireEvent.click(screen.getByTestId('nav-messages'));
    await settle();
    expect(useNav.getState().view).toBe('messages');
    expect(screen.getByTestId('messages-empty')).toBeTruthy();
  });
});
