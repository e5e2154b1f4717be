import { create } from 'zustand';
import type { ConnectionStatus } from '../transport/types';
import { api, errorText } from './api';
import type { DaemonStatus } from './types';

interface ConnectionState {
  status: ConnectionStatus;
  daemon: DaemonStatus | null;
  daemonError: string | null;
  /** A browser page opened without `#token=…`: the daemon will refuse it. */
  noToken: boolean;
  /** Why the one-time code in `#code=…` could not be traded for the token (expired, used…), if it could not. */
  codeError: string | null;
  setStatus(s: ConnectionStatus): void;
  /** Fetches `status` (pid, state dir, runs in progress, helper). */
  refreshDaemon(): Promise<void>;
}

export const useConnection = create<ConnectionState>((set) => ({
  status: 'connecting',
  daemon: null,
  daemonError: null,
  noToken: false,
  codeError: null,
  setStatus: (status) => set({ status }),
  refreshDaemon: async () => {
    try {
      const daemon = await api<DaemonStatus>('status', {});
      set({ daemon, daemonError: null });
    } catch (e) {
      set({ daemonError: errorText(e) });
    }
  },
}));
