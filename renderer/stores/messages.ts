import { create } from 'zustand';
import type { Message } from '../../core/api/contract-messages';
import { api, errorText } from './api';

export type { Message };

/** What a person may change in a queued message (messages.edit). */
export interface MessageChange {
  destination?: string;
  subject?: string;
  body?: string;
}

interface MessagesState {
  messages: Message[];
  loaded: boolean;
  error: string | null;
  /** Id of the message an action is running on (its buttons are disabled meanwhile). */
  busy: number | null;
  /** Id of the message shown in full. */
  selected: number | null;
  load(): Promise<void>;
  select(id: number | null): void;
  edit(id: number, change: MessageChange): Promise<boolean>;
  send(id: number): Promise<void>;
  cancel(id: number): Promise<void>;
}

/**
 * The outbound-message queue (core/messages) for the Messages view: list, edit, send now, cancel. The daemon
 * does not push message changes yet, so the view reloads on a timer and after every action.
 */
export const useMessages = create<MessagesState>((set, get) => {
  const replace = (m: Message) => set((s) => ({ messages: s.messages.map((x) => (x.id === m.id ? m : x)) }));
  const act = async (id: number, fn: () => Promise<Message>): Promise<boolean> => {
    set({ busy: id, error: null });
    try {
      replace(await fn());
      return true;
    } catch (e) {
      set({ error: errorText(e) });
      return false;
    } finally {
      set({ busy: null });
      void get().load();
    }
  };
  return {
    messages: [],
    loaded: false,
    error: null,
    busy: null,
    selected: null,
    load: async () => {
      try {
        const messages = await api<Message[]>('messages.list', {});
        set({ messages, loaded: true });
      } catch (e) {
        set({ error: errorText(e), loaded: true });
      }
    },
    select: (selected) => set({ selected }),
    edit: (id, change) => act(id, () => api<Message>('messages.edit', { id, ...change })),
    send: async (id) => void (await act(id, () => api<Message>('messages.send', { id }))),
    cancel: async (id) => void (await act(id, () => api<Message>('messages.cancel', { id }))),
  };
});
