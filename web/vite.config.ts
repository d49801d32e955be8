import { defineConfig } from 'vite';

// Built by `npm run build` into web/dist, which `cairn serve` serves at `/`.
// For work on the console alone: `npx vite web` with a server on :8080 behind the proxy.
export default defineConfig({
  base: '/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      onwarn(warning, warn) {
        // Radix marks its modules "use client" for server components; a plain SPA has no use for it.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
