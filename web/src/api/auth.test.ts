// The session against a real HTTP server that speaks identity's token API (login, rotating
// refresh with reuse detection) and guards a route with the access token.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MemoryStorage, Session } from "./auth";
import { makeApi } from "./client";

let server: Server;
let base = "";
let clock = 0;
let seq = 0;
const live = new Map<string, number>(); // access token -> expiry (ms on the test clock)
const refreshTokens = new Set<string>(); // refresh tokens not yet used
const used = new Set<string>();
let refreshCalls = 0;
let revokedFamily = false;
let seenBodies: string[] = [];

function pair() {
  seq += 1;
  const access = `a${seq}`;
  const refresh = `r${seq}`;
  live.set(access, clock + 60_000);
  refreshTokens.add(refresh);
  return { access_token: access, refresh_token: refresh, token_type: "bearer", expires_in: 60, refresh_expires_in: 3600 };
}

async function body(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text;
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" });
      res.end(JSON.stringify(value));
    };
    const text = await body(req);
    if (req.url === "/api/v1/auth/login") return json(200, pair());
    if (req.url === "/api/v1/auth/refresh") {
      refreshCalls += 1;
      const { refresh_token } = JSON.parse(text);
      if (used.has(refresh_token)) {
        revokedFamily = true;
        return json(401, { status: 401, detail: "reused" });
      }
      if (!refreshTokens.delete(refresh_token)) return json(401, { status: 401, detail: "unknown" });
      used.add(refresh_token);
      return json(200, pair());
    }
    if (req.url === "/api/v1/teams") {
      const token = (req.headers.authorization ?? "").replace("Bearer ", "");
      const exp = live.get(token);
      if (exp === undefined || exp <= clock) return json(401, { status: 401, detail: "expired" });
      seenBodies.push(text);
      if (req.method === "POST") return json(201, { id: "t1", name: JSON.parse(text).name, my_role: "owner" });
      return json(200, { items: [], next_cursor: null });
    }
    json(404, { status: 404 });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  clock = 1_000_000;
  refreshCalls = 0;
  revokedFamily = false;
  seenBodies = [];
});

function newSession() {
  return new Session({ baseUrl: base, storage: new MemoryStorage(), now: () => clock, skewMs: 10_000 });
}

describe("Session", () => {
  it("signs in and calls the API with its token", async () => {
    const s = newSession();
    await s.login("ada", "correct horse battery");
    const api = makeApi(s, base);
    const { data, response } = await api.GET("/api/v1/teams");
    expect(response.status).toBe(200);
    expect(data?.items).toEqual([]);
    expect(s.refreshes).toBe(0);
  });

  it("refreshes silently before the access token expires", async () => {
    const s = newSession();
    await s.login("ada", "pw");
    const first = s.tokens!.access;
    clock += 55_000; // 5 s left, inside the 10 s skew
    const { response } = await makeApi(s, base).GET("/api/v1/teams");
    expect(response.status).toBe(200);
    expect(s.refreshes).toBe(1);
    expect(s.tokens!.access).not.toBe(first);
  });

  it("refreshes on a 401 and retries the call once, body and all", async () => {
    const s = newSession();
    await s.login("ada", "pw");
    live.set(s.tokens!.access, clock - 1); // the server considers it expired already (clock skew)
    const { data, response } = await makeApi(s, base).POST("/api/v1/teams", { body: { name: "Crew" } });
    expect(response.status).toBe(201);
    expect(data?.name).toBe("Crew");
    expect(s.refreshes).toBe(1);
    expect(seenBodies).toEqual([JSON.stringify({ name: "Crew" })]);
  });

  it("shares one refresh between concurrent calls (a rotated token is never sent twice)", async () => {
    const s = newSession();
    await s.login("ada", "pw");
    clock += 59_000;
    const api = makeApi(s, base);
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => api.GET("/api/v1/teams")));
    expect(answers.map((a) => a.response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(refreshCalls).toBe(1);
    expect(revokedFamily).toBe(false);
  });

  it("signs out when the refresh is refused", async () => {
    const s = newSession();
    const changes: boolean[] = [];
    s.onChange((v) => changes.push(v));
    await s.login("ada", "pw");
    refreshTokens.clear(); // the server forgot the family (revoked, expired)
    clock += 59_000;
    const { response } = await makeApi(s, base).GET("/api/v1/teams");
    expect(response.status).toBe(401);
    expect(s.signedIn).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it("takes a pair another tab refreshed instead of reusing the old refresh token", async () => {
    const storage = new MemoryStorage();
    const tabA = new Session({ baseUrl: base, storage, now: () => clock, skewMs: 10_000 });
    const tabB = new Session({ baseUrl: base, storage, now: () => clock, skewMs: 10_000 });
    await tabA.login("ada", "pw");
    const stale = tabA.tokens!.access;
    clock += 59_000;
    expect(await tabA.refresh(stale)).toBe(true);
    clock += 1_000;
    expect(await tabB.refresh(stale)).toBe(true); // sees tab A's fresh pair: no second refresh
    expect(refreshCalls).toBe(1);
    expect(revokedFamily).toBe(false);
  });
});
