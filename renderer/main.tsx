import { StrictMode } from 'react';
import { z } from 'zod';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { pickTransport } from './transport';
import { startStores } from './stores';
import { useConnection } from './stores/connection';
import { tokenFromHash } from './transport/browser';
import './app/styles.css';

// No eval under the daemon's CSP (`script-src 'self'`): zod must not probe `new Function`.
z.config({ jitless: true });

startStores(pickTransport());
if (!window.warden && !tokenFromHash(location.hash)) useConnection.setState({ noToken: true });
const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
