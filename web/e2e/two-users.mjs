// Two people's day in the web client, in Debian's Chromium (playwright-core, headless), against a
// running platform: sign up, verify from the mail sink, a team, the board moved live (keyboard and
// drag and drop), task detail, a notification read, chat live and resumed after a dropped socket,
// focus shown on the other's "now" strip, and every other screen rendered. Screenshots of each.
//
//   VC_BASE=http://127.0.0.1:8000 VC_MAIL_DIR=.run/mail node e2e/two-users.mjs
// Prints one JSON line of timings at the end; exits non-zero on the first failed step.
import { readdirSync, readFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.VC_BASE ?? "http://127.0.0.1:8000";
const MAIL = process.env.VC_MAIL_DIR ?? ".run/mail";
const SHOTS = process.env.VC_SHOTS ?? "test-results/screenshots";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WAIT = Number(process.env.VC_WAIT_MS ?? 60_000); // a loaded 2-core CI box is slow
mkdirSync(SHOTS, { recursive: true });

const suffix = Math.random().toString(36).slice(2, 8);
const ada = { username: `ada${suffix}`, email: `ada${suffix}@example.com`, password: "correct horse battery staple" };
const bob = { username: `bob${suffix}`, email: `bob${suffix}@example.com`, password: "another long passphrase" };
const timings = {};
const errors = [];

function step(name) {
  console.log(`- ${name}`);
  return { name, started: Date.now() };
}
function done(s) {
  timings[s.name] = Date.now() - s.started;
}
const card = (page, column, title) =>
  page.locator(`[data-column-name="${column}"] [data-task-id]`, { hasText: title });

/** The access token the page signed in with (the client keeps it in localStorage). */
async function tokenOf(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem("vc.tokens") ?? "{}").access);
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

function verificationLink(email) {
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    if (existsSync(MAIL)) {
      for (const f of readdirSync(MAIL).filter((n) => n.endsWith(".eml"))) {
        // quoted-printable: soft line breaks and `=3D`
        const text = readFileSync(join(MAIL, f), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
        if (!text.includes(email)) continue;
        const m = text.match(/https?:\/\/[^\s"<>]+\/verify-email\?token=[\w.~%-]+/);
        if (m) return m[0];
      }
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
  }
  throw new Error(`no verification mail for ${email} in ${MAIL}`);
}

async function signUp(page, who) {
  await page.goto(BASE + "/");
  await page.getByRole("tab", { name: "Sign up" }).click();
  const form = page.getByRole("form", { name: "Sign up" });
  await form.getByLabel("Username").fill(who.username);
  await form.getByLabel("E-mail").fill(who.email);
  await form.getByLabel("First name").fill(who.username.slice(0, 3));
  await form.getByLabel("Password").fill(who.password);
  await form.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: `Welcome, ${who.username}` }).waitFor();
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
try {
  const ctxA = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const ctxB = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  for (const c of [ctxA, ctxB]) c.setDefaultTimeout(WAIT);
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  for (const [who, p] of [["ada", a], ["bob", b]]) {
    p.on("pageerror", (e) => errors.push(`${who}: ${e.message}`));
    p.on("console", (m) => m.type() === "error" && !/status of 40[49]/.test(m.text()) && errors.push(`${who} console: ${m.text()}`));
  }

  let s = step("first load of the sign-in page");
  const t0 = Date.now();
  await a.goto(BASE + "/");
  await a.getByRole("button", { name: "Sign in" }).first().waitFor();
  timings.first_load_ms = Date.now() - t0;
  await shot(a, "signin");
  done(s);

  s = step("both sign up (and are signed in)");
  await signUp(a, ada);
  await shot(a, "signup-done");
  await signUp(b, bob);
  done(s);

  s = step("Ada verifies her e-mail from the mail sink's link");
  const link = verificationLink(ada.email);
  const v = await ctxA.newPage();
  await v.goto(link);
  await v.getByText("your e-mail address is verified").waitFor();
  await shot(v, "verify");
  await v.close();
  done(s);

  s = step("Ada starts a team and adds Bob by his user id");
  await a.getByLabel("Team name").fill("Crew");
  await a.getByRole("button", { name: "Create team" }).click();
  await a.getByRole("heading", { name: "Board" }).waitFor();
  await a.bringToFront(); // back from the mail tab
  await a.getByText("Verify your e-mail").waitFor({ state: "detached" }); // she did, in the other tab
  const bobId = (await b.getByTestId("my-user-id").textContent()).trim();
  await a.getByRole("link", { name: "Members" }).click();
  await a.getByRole("form", { name: "Add a member" }).getByLabel("User id").fill(bobId);
  await a.getByRole("button", { name: "Add member" }).click();
  await a.getByRole("cell", { name: bob.username }).waitFor();
  await shot(a, "members");
  // Bob's live socket hears of it (teams event) and his app moves into the team
  await b.getByRole("heading", { name: "Board" }).waitFor({ timeout: 10_000 }).catch(async () => {
    await b.getByRole("button", { name: /reload/ }).click();
    await b.getByRole("heading", { name: "Board" }).waitFor();
  });
  done(s);

  s = step("Ada makes a board and two tasks; Bob sees them");
  await a.getByRole("link", { name: "Board" }).click();
  await a.getByRole("button", { name: "Create board" }).click();
  await a.getByLabel("New task in To do").fill("Write the brief");
  await a.getByRole("button", { name: "Add task to To do" }).click();
  await card(a, "To do", "Write the brief").waitFor();
  await a.getByLabel("New task in To do").fill("Review the plan");
  await a.getByRole("button", { name: "Add task to To do" }).click();
  await card(a, "To do", "Review the plan").waitFor();
  await card(b, "To do", "Review the plan").waitFor();
  done(s);

  s = step("Ada moves a task with the keyboard; Bob sees it move live");
  await card(a, "To do", "Write the brief").focus();
  await a.keyboard.press("Shift+ArrowRight");
  await card(a, "In progress", "Write the brief").waitFor();
  const movedAt = Date.now();
  await card(b, "In progress", "Write the brief").waitFor();
  timings.board_move_seen_by_other_ms = Date.now() - movedAt;
  await a.getByTestId("board-announce").getByText("Moved Write the brief to In progress").waitFor();
  done(s);

  s = step("Ada drags a task to Done; Bob sees it");
  const src = await card(a, "To do", "Review the plan").boundingBox();
  const dst = await a.locator('[data-column-name="Done"]').boundingBox();
  await a.mouse.move(src.x + src.width / 2, src.y + src.height / 2);
  await a.mouse.down();
  await a.mouse.move(src.x + src.width / 2 + 12, src.y + src.height / 2, { steps: 4 });
  await a.mouse.move(dst.x + dst.width / 2, dst.y + 60, { steps: 15 });
  await a.mouse.up();
  await card(a, "Done", "Review the plan").waitFor();
  await card(b, "Done", "Review the plan").waitFor();
  done(s);

  s = step("task detail: subtask, label, comment, assign to Bob");
  await card(a, "In progress", "Write the brief").click();
  const dialog = a.getByRole("dialog");
  await dialog.getByLabel("New subtask").fill("Outline");
  await dialog.getByRole("button", { name: "Add subtask" }).click();
  await dialog.getByLabel("Outline").waitFor();
  await dialog.getByLabel("New label name").fill("docs");
  await dialog.getByRole("button", { name: "Add label" }).click();
  await dialog.getByRole("checkbox", { name: "docs" }).check();
  await dialog.getByLabel("Attach a file").setInputFiles({ name: "brief.txt", mimeType: "text/plain", buffer: Buffer.from("the brief, first draft") });
  const attached = dialog.getByRole("link", { name: "brief.txt" });
  await attached.waitFor(); // uploaded into the team's files, then attached to the task
  await dialog.locator('a[href*="signature="]', { hasText: "brief.txt" }).waitFor(); // signed
  const got = await a.request.get(new URL(await attached.getAttribute("href"), BASE).href); // no token
  if (got.status() !== 200 || (await got.text()) !== "the brief, first draft") throw new Error(`attachment download: ${got.status()}`);
  await dialog.getByRole("textbox", { name: "Comment" }).fill("First draft by Friday");
  await dialog.getByRole("button", { name: "Post comment" }).click();
  await dialog.locator(".comments").getByText("First draft by Friday").waitFor();
  await dialog.getByLabel("Assignee").selectOption({ label: bob.username });
  await dialog.getByLabel("Assignee").evaluate((el) => el.blur());
  await dialog.locator(".comments").getByText("First draft by Friday").waitFor();
  await a.waitForTimeout(500); // nothing that comes back late may undo the assignment
  if ((await dialog.getByLabel("Assignee").inputValue()) !== bobId) throw new Error("assignee lost");
  await shot(a, "task-detail");
  await dialog.getByRole("button", { name: "Close" }).click();
  await card(b, "In progress", "Write the brief").filter({ hasText: "docs" }).waitFor();
  done(s);

  s = step("Bob's badge shows the assignment; he reads it");
  await b.getByTestId("unread-badge").waitFor();
  await shot(b, "board");
  await b.getByRole("button", { name: /^Notifications, [1-9]/ }).click();
  const note = b.getByTestId("notifications").locator("li", { hasText: "Write the brief" });
  await note.waitFor(); // the assignment (he was told of joining the team too)
  const unread = Number(await b.getByTestId("unread-badge").textContent());
  await shot(b, "notifications");
  await note.getByRole("button", { name: /Mark .* read/ }).click();
  await note.getByRole("button", { name: /Mark .* read/ }).waitFor({ state: "detached" });
  if (unread > 1) await b.getByTestId("unread-badge").getByText(String(unread - 1), { exact: true }).waitFor();
  else await b.getByTestId("unread-badge").waitFor({ state: "detached" });
  done(s);

  s = step("Bob's notification settings: no mail for comments, quiet hours, kept after a reload");
  await b.getByText("Settings", { exact: true }).click();
  const settings = b.getByRole("form", { name: "Notification settings" });
  await settings.getByLabel("A comment on my task: email").uncheck();
  await settings.getByLabel("No email between").check();
  await settings.getByLabel("Quiet from").fill("21:30");
  await settings.getByRole("button", { name: "Save settings" }).click();
  await settings.getByRole("status").getByText("Saved.").waitFor();
  await shot(b, "notification-settings");
  await b.reload();
  await b.getByRole("button", { name: /^Notifications/ }).click();
  await b.getByText("Settings", { exact: true }).click();
  const again = b.getByRole("form", { name: "Notification settings" });
  await again.getByLabel("Quiet from").waitFor();
  if (await again.getByLabel("A comment on my task: email").isChecked()) throw new Error("email for comments not saved");
  if (!(await again.getByLabel("A comment on my task: in app").isChecked())) throw new Error("in-app for comments lost");
  if ((await again.getByLabel("Quiet from").inputValue()) !== "21:30") throw new Error("quiet hours not saved");
  const saved = await (await b.request.get(`${BASE}/api/v1/notifications/preferences`, { headers: { Authorization: `Bearer ${await tokenOf(b)}` } })).json();
  if (saved.channels["task.commented"].email !== false || saved.quiet_hours?.start?.slice(0, 5) !== "21:30") throw new Error(`API says ${JSON.stringify(saved)}`);
  done(s);

  s = step("chat: Ada posts, Bob sees it live and answers");
  await a.getByRole("link", { name: "Chat" }).click();
  await a.getByLabel("New room name").fill("general");
  await a.getByRole("button", { name: "Create room" }).click();
  await a.getByRole("button", { name: "# general" }).waitFor();
  await b.getByRole("link", { name: "Chat" }).click();
  await b.getByRole("button", { name: "# general" }).click();
  await a.getByLabel("Message", { exact: true }).fill("Hello from Ada");
  await a.getByRole("button", { name: "Send", exact: true }).click();
  const sentAt = Date.now();
  await b.getByTestId("messages").getByText("Hello from Ada").waitFor();
  timings.chat_seen_by_other_ms = Date.now() - sentAt;
  await b.getByLabel("Message", { exact: true }).fill("Hi Ada, on it");
  await b.getByRole("button", { name: "Send", exact: true }).click();
  await a.getByTestId("messages").getByText("Hi Ada, on it").waitFor();
  await shot(b, "chat");
  done(s);

  s = step("Ada's socket drops; what Bob said meanwhile comes with the resume");
  const before = await a.evaluate(() => window.__vcLive.connections);
  await a.evaluate(() => window.__vcLive.stop());
  await b.getByLabel("Message", { exact: true }).fill("Said while you were away");
  await b.getByRole("button", { name: "Send", exact: true }).click();
  await b.getByTestId("messages").getByText("Said while you were away").waitFor();
  await a.waitForTimeout(1500); // the event reaches the realtime stream
  await a.evaluate(() => window.__vcLive.start());
  await a.getByTestId("messages").getByText("Said while you were away").waitFor();
  const resume = await a.evaluate(() => window.__vcResume);
  if (!resume || resume.type !== "resumed" || resume.replayed < 1) throw new Error(`no resume: ${JSON.stringify(resume)}`);
  if ((await a.evaluate(() => window.__vcLive.connections)) !== before + 1) throw new Error("no reconnect");
  done(s);

  s = step("Bob starts focus; Ada's now strip shows it");
  await b.getByRole("link", { name: "Focus" }).click();
  await b.getByRole("button", { name: "Start pomodoro (25 min)" }).click();
  await b.getByTestId("focus-running").waitFor();
  const focusAt = Date.now();
  await a.locator(`[data-testid="now-strip"] [data-user="${bob.username}"][data-status="focusing"]`).waitFor();
  timings.focus_seen_by_other_ms = Date.now() - focusAt;
  await shot(b, "focus");
  await shot(a, "now-strip");
  await b.getByRole("button", { name: "Interrupted" }).click();
  await b.getByText("1 interruptions").waitFor();
  await b.getByRole("button", { name: "Stop focus" }).click();
  await b.getByRole("button", { name: "Start pomodoro (25 min)" }).waitFor();
  done(s);

  s = step("the other screens render");
  await a.getByRole("link", { name: "Calendar" }).click();
  await a.getByLabel("Title", { exact: true }).fill("Planning");
  await a.getByLabel("Repeats").selectOption("FREQ=WEEKLY");
  await a.getByRole("button", { name: "Add event" }).click();
  await a.locator(".cal").getByText("Planning").first().waitFor();
  await shot(a, "calendar");
  await a.getByRole("button", { name: "Month" }).click();
  await shot(a, "calendar-month");
  await a.getByRole("link", { name: "Meetings" }).click();
  await a.getByLabel("Title", { exact: true }).fill("Stand-up");
  await a.getByRole("button", { name: "Schedule" }).click();
  await a.getByText("Stand-up").waitFor();
  await shot(a, "meetings");
  await a.getByRole("link", { name: "Files" }).click();
  await a.getByLabel("Upload a file").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
  await a.getByRole("link", { name: "notes.txt" }).waitFor();
  await shot(a, "files");
  await a.getByRole("link", { name: "Analytics" }).click();
  await a.locator(".chart canvas").waitFor();
  await shot(a, "analytics");
  done(s);

  s = step("the board at a phone's width");
  await a.setViewportSize({ width: 390, height: 844 });
  await a.getByRole("button", { name: "Menu" }).click();
  await a.getByRole("link", { name: "Board" }).click();
  await card(a, "Done", "Review the plan").waitFor();
  await shot(a, "board-phone");
  done(s);

  if (errors.length) throw new Error(`errors in the pages:\n${errors.join("\n")}`);
  console.log(JSON.stringify({ ok: true, timings }));
} catch (e) {
  console.error(`FAILED: ${e.stack ?? e}`);
  if (errors.length) console.error(errors.join("\n"));
  for (const ctx of browser.contexts()) for (const [i, p] of ctx.pages().entries()) await p.screenshot({ path: join(SHOTS, `failure-${browser.contexts().indexOf(ctx)}-${i}.png`) }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
