import { create } from 'zustand';

const KEY = 'warden.notifications';

function read(): boolean {
  try {
    return globalThis.localStorage?.getItem(KEY) === 'on';
  } catch {
    return false;
  }
}

interface SettingsState {
  notifications: boolean;
  setNotifications(on: boolean): void;
}

/** UI preferences kept in localStorage (policy settings live in the daemon's policy bands). */
export const useSettings = create<SettingsState>((set) => ({
  notifications: read(),
  setNotifications: (on) => {
    try {
      globalThis.localStorage?.setItem(KEY, on ? 'on' : 'off');
    } catch {
      /* storage unavailable: keep it for this session */
    }
    set({ notifications: on });
  },
}));
