import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard is built into dist/web and served by the gateway at /; `npm run dev:web` proxies
// the API to a gateway on 127.0.0.1:8190.
export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  // Absolute: client routes such as /jobs/<id> load the same /assets/... files.
  base: '/',
  plugins: [react()],
  build: { outDir: '../dist/web', emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8190', ws: true },
      '/health': 'http://127.0.0.1:8190',
      '/metrics': 'http://127.0.0.1:8190',
    },
  },
});
