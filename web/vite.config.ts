/// <reference types="vitest" />
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// Precompressed siblings (`app-xyz.js.gz`): the gateway sends them to clients that accept gzip
// (aiohttp's FileResponse), so the first load moves a third of the bytes with no work per request.
function gzipAssets(): Plugin {
  return {
    name: "vc-gzip-assets",
    apply: "build",
    // after the files are written: the bundle Vite hands to generateBundle is not final yet
    // (its preload helper is filled in later), so compress what is on disk
    writeBundle(options, bundle) {
      const dir = options.dir ?? "dist";
      for (const name of Object.keys(bundle)) {
        if (!/\.(js|css|html|svg)$/.test(name)) continue;
        const bytes = readFileSync(join(dir, name));
        if (bytes.length < 1024) continue;
        writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), gzipAssets()],
  build: { target: "es2022", sourcemap: false, chunkSizeWarningLimit: 400 },
  // `npm run dev`: the platform of `make run` behind Vite's dev server
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", ws: true },
      "/verify-email": "http://127.0.0.1:8000",
    },
  },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
