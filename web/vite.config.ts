import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// `npm run dev` proxies the API and the public status pages to a running
// lxmon-server (LXMON_URL).
const apiTarget = process.env.LXMON_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  // Absolute asset URLs: the server answers every non-API path with
  // index.html (SPA fallback), so /servers/3 must still load /assets/….
  base: "/",
  build: {
    outDir: "dist",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/api": { target: apiTarget, changeOrigin: false },
      "/status/": { target: apiTarget, changeOrigin: false },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
