import { StrictMode } from 'react';
import { z } from 'zod';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { pickTransport } from './transport';
import { startStores } from './stores';
import { useConnection } from './stores/connection';
import { codeFromHash, exchangeCode, tokenFromHash } from './transport/browser';
import './app/styles.css';

// No eval under the daemon's CSP (`script-src 'self'`): zod must not probe `new Function`.
z.config({ jitless: true });

async function boot(): Promise<void> {
  // `warden ui` opens `#code=…` (a one-time code; the token is never on a command line): trade it first.
  let codeError: string | null = null;
  if (!window.warden && codeFromHash(location.hash)) {
    try {
      history.replaceState(
        null,
        '',
        location.pathname + location.search + (await exchangeCode(location.hash)),
      );
    } catch (e) {
      codeError = (e as Error).message;
      history.replaceState(null, '', location.pathname + location.search);
    }
  }
  startStores(pickTransport());
  if (!window.warden && !tokenFromHash(location.hash)) useConnection.setState({ noToken: true, codeError });
  const root = document.getElementById('root');
  if (root)
    createRoot(root).render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
}

void boot();
