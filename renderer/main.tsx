import { StrictMode } from 'react';
import { z } from 'zod';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { pickTransport } from './transport';
import { startStores } from './stores';
import './app/styles.css';

// No eval under the daemon's CSP (`script-src 'self'`): zod must not probe `new Function`.
z.config({ jitless: true });

startStores(pickTransport());
const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
