// `make bench` (bench/web_bench.py): the first load of the board page with 500 tasks in
// Chromium (headless, playwright-core), on loopback, cold cache. Time to interactive = from the
// navigation to the moment the 500th card is on the page and the first one takes the keyboard
// focus. The anchor, in the same browser, run by run before each load of the app: a bare page
// (no framework, no bundle) that fetches the same board from the same gateway and puts each
// task on the page as a focusable card; timed the same way. Prints one JSON line:
// {tti_ms: [...], p50, anchor_ms: [...], anchor_p50, bundle: {...}}.
//   VC_BASE=http://127.0.0.1:8000 node e2e/board-load.mjs
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const BASE = process.env.VC_BASE ?? "http://127.0.0.1:8000";
const TASKS = Number(process.env.VC_TASKS ?? 500);
const RUNS = Number(process.env.VC_RUNS ?? 5);

async function call(method, path, body, token) {
  const r = await fetch(BASE + path, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

const name = `bench${Math.random().toString(36).slice(2, 8)}`;
const password = "correct horse battery staple";
await call("POST", "/api/v1/auth/register", { username: name, email: `${name}@example.com`, password });
const tokens = await call("POST", "/api/v1/auth/login", { username: name, password });
const t = tokens.access_token;
const team = await call("POST", "/api/v1/teams", { name: "Bench" }, t);
const board = await call("POST", `/api/v1/teams/${team.id}/boards`, { name: "Big board" }, t);
const detail = await call("GET", `/api/v1/boards/${board.id}`, null, t);
const cols = detail.columns.map((c) => c.id);
for (let i = 0; i < TASKS; i += 20) {
  await Promise.all(
    Array.from({ length: Math.min(20, TASKS - i) }, (_, k) =>
      call("POST", `/api/v1/columns/${cols[(i + k) % cols.length]}/tasks`, { title: `Task ${i + k + 1}` }, t),
    ),
  );
}

const stored = JSON.stringify({ access: t, refresh: tokens.refresh_token, expiresAt: Date.now() + tokens.expires_in * 1000 });
// the anchor page, answered by the browser itself on the gateway's origin (so its fetch is
// same-origin, like the app's)
const ANCHOR = `${BASE}/__bench-anchor`;
const anchorPage = `<!doctype html><html><body><main id="board"></main><script>
const token = JSON.parse(localStorage.getItem("vc.tokens")).access;
fetch("/api/v1/boards/${board.id}", { headers: { Authorization: "Bearer " + token } })
  .then((r) => r.json())
  .then((b) => {
    const root = document.getElementById("board");
    for (const c of b.columns) {
      const col = document.createElement("section");
      col.append(Object.assign(document.createElement("h2"), { textContent: c.name }));
      for (const task of c.tasks) {
        const card = Object.assign(document.createElement("div"), { tabIndex: 0, textContent: task.title });
        card.dataset.taskId = task.id;
        col.append(card);
      }
      root.append(col);
    }
  });
</script></body></html>`;

async function timeToInteractive(browser, url) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await ctx.addInitScript(
    ([tok, teamId]) => {
      localStorage.setItem("vc.tokens", tok);
      localStorage.setItem("vc.team", teamId);
    },
    [stored, team.id],
  );
  await ctx.route(ANCHOR, (route) => route.fulfill({ contentType: "text/html", body: anchorPage }));
  const page = await ctx.newPage();
  const started = Date.now();
  await page.goto(url);
  await page.locator("[data-task-id]").nth(TASKS - 1).waitFor({ timeout: 30_000 });
  await page.locator("[data-task-id]").first().focus();
  await page.waitForFunction(() => document.activeElement?.hasAttribute("data-task-id"));
  const took = Date.now() - started;
  await ctx.close();
  return took;
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
const tti = [];
const anchor = [];
try {
  for (let run = 0; run < RUNS; run++) {
    anchor.push(await timeToInteractive(browser, ANCHOR));
    tti.push(await timeToInteractive(browser, `${BASE}/board`));
  }
} finally {
  await browser.close();
}
const dist = "dist/assets";
const files = readdirSync(dist).filter((f) => !f.endsWith(".gz"));
const bundle = Object.fromEntries(
  files.map((f) => {
    const bytes = readFileSync(join(dist, f));
    return [f, { bytes: statSync(join(dist, f)).size, gzip: gzipSync(bytes, { level: 9 }).length }];
  }),
);
tti.sort((a, b) => a - b);
anchor.sort((a, b) => a - b);
const p50 = (xs) => xs[Math.floor(xs.length / 2)];
console.log(
  JSON.stringify({ tasks: TASKS, tti_ms: tti, p50: p50(tti), anchor_ms: anchor, anchor_p50: p50(anchor), bundle }),
);
