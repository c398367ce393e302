import { defineConfig } from "vitest/config";

// Browser tests: real lxmon-server and lxmon-agent, real headless Chromium.
// One file at a time: each starts its own server, and the machine is small.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ["verbose"],
  },
});
