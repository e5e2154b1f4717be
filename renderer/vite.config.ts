// Builds the UI bundle into dist/renderer/ (served by the daemon on 127.0.0.1 and loaded by Electron).
// Relative asset paths (`base: './'`) so it works from file:// and from any mount point; no inline scripts
// (the daemon's CSP is `script-src 'self'`).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    sourcemap: true,
    assetsInlineLimit: 0,
  },
});
