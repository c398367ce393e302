// Regenerates src/api/schema.d.ts from the server's OpenAPI document.
//
//   npm run gen:api                          # from the committed openapi.json
//   npm run gen:api -- http://127.0.0.1:8080 # from a running server (also
//                                            # refreshes openapi.json)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const saved = join(web, "openapi.json");
const source = process.argv[2];

if (source) {
  const url = source.endsWith(".json") ? source : `${source.replace(/\/$/, "")}/api/openapi.json`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  const doc = await response.json();
  writeFileSync(saved, JSON.stringify(doc, null, 2) + "\n");
  console.log(`saved ${url} → openapi.json`);
}

// openapi-typescript types each path by its operationId, so two operations
// sharing one (the server names them after handlers: the agent's and the
// dashboard's `metrics`) would be typed alike. Make each unique by method and
// path before generating; the saved document stays as the server serves it.
const doc = JSON.parse(readFileSync(saved, "utf8"));
const seen = new Map();
for (const operations of Object.values(doc.paths ?? {})) {
  for (const operation of Object.values(operations)) {
    if (operation && typeof operation === "object" && operation.operationId) {
      seen.set(operation.operationId, (seen.get(operation.operationId) ?? 0) + 1);
    }
  }
}
for (const [path, operations] of Object.entries(doc.paths ?? {})) {
  for (const [method, operation] of Object.entries(operations)) {
    if (operation && typeof operation === "object" && seen.get(operation.operationId) > 1) {
      operation.operationId = `${method}_${path.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_|_$/g, "")}`;
    }
  }
}
const scratch = mkdtempSync(join(tmpdir(), "lxmon-gen-api-"));
const input = join(scratch, "openapi.json");
writeFileSync(input, JSON.stringify(doc));
try {
  execFileSync(process.execPath, [join(web, "node_modules/openapi-typescript/bin/cli.js"), input, "-o", join(web, "src/api/schema.d.ts")], { stdio: "inherit" });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
