// Unit tests of the UI (stores with a fake Transport, views with Testing Library on happy-dom).
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  plugins: [react()],
  test: {
    environment: 'happy-dom',
    include: ['test/renderer/**/*.test.tsx'],
    setupFiles: ['test/renderer/setup.tsx'],
    restoreMocks: true,
  },
});
