// The live socket against a real WebSocket server (the `ws` package) that speaks the realtime
// service's frames: ready, events, a dropped connection, `?after=` resume with an overlapping
// replay, reload, and the token's renewal.
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { type Frame, LiveSocket, type SocketLike } from "./socket";

const servers: WebSocketServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function serve(onConnection: (ws: WebSocket, url: URL, n: number) => void): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  servers.push(wss);
  let n = 0;
  wss.on("connection", (ws, req) => onConnection(ws, new URL(req.url!, "http://x"), ++n));
  return new Promise((r) => wss.on("listening", () => r(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)));
}

const event = (id: string) => JSON.stringify({ type: "event", event: { id, type: "tasks.task.moved", data: { n: id } } });
const ready = JSON.stringify({ type: "ready", user_id: "u", teams: ["t"], exp: 0 });

function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => (check() ? resolve() : Date.now() > end ? reject(new Error("timed out")) : setTimeout(tick, 10));
    tick();
  });
}

function client(origin: string, frames: Frame[], extra: Partial<ConstructorParameters<typeof LiveSocket>[0]> = {}) {
  return new LiveSocket({
    origin,
    token: async () => "tok",
    onFrame: (f) => frames.push(f),
    socket: (url) => new WebSocket(url) as unknown as SocketLike,
    minDelay: 20,
    maxDelay: 50,
    ...extra,
  });
}

describe("LiveSocket", () => {
  it("resumes after a drop from the last event seen, without duplicates", async () => {
    const urls: URL[] = [];
    const origin = await serve((ws, url, n) => {
      urls.push(url);
      ws.send(ready);
      if (n === 1) {
        ws.send(event("e1"));
        ws.send(event("e2"));
        setTimeout(() => ws.terminate(), 30); // the network drops
      } else {
        // the replay overlaps what the client had (e2), then what it missed, then live
        ws.send(event("e2"));
        ws.send(event("e3"));
        ws.send(JSON.stringify({ type: "resumed", after: "e2", replayed: 2 }));
        ws.send(event("e4"));
      }
    });
    const frames: Frame[] = [];
    const live = client(origin, frames);
    live.start();
    await until(() => frames.some((f) => f.type === "event" && f.event.id === "e4"));
    live.stop();
    const got = frames.flatMap((f) => (f.type === "event" ? [f.event.id] : []));
    expect(got).toEqual(["e1", "e2", "e3", "e4"]);
    expect(urls[0].searchParams.get("token")).toBe("tok");
    expect(urls[0].searchParams.has("after")).toBe(false);
    expect(urls[1].searchParams.get("after")).toBe("e2");
    expect(live.connections).toBe(2);
    expect(live.after).toBe("e4");
  });

  it("asks the app to reload its state when the gap cannot be replayed", async () => {
    const origin = await serve((ws, _url, n) => {
      ws.send(ready);
      if (n === 1) {
        ws.send(event("old"));
        setTimeout(() => ws.terminate(), 20);
      } else {
        ws.send(JSON.stringify({ type: "reload", reason: "too_old", after: "old", detail: "reload" }));
        ws.send(event("new"));
      }
    });
    const frames: Frame[] = [];
    const reasons: string[] = [];
    const live = client(origin, frames, { onReload: (r) => reasons.push(r) });
    live.start();
    await until(() => frames.some((f) => f.type === "event" && f.event.id === "new"));
    live.stop();
    expect(reasons).toEqual(["too_old"]);
  });

  it("renews the socket's token when the service says it is expiring", async () => {
    const received: unknown[] = [];
    const origin = await serve((ws) => {
      ws.on("message", (m) => received.push(JSON.parse(String(m))));
      ws.send(ready);
      ws.send(JSON.stringify({ type: "auth.expiring", exp: 123 }));
    });
    let n = 0;
    const live = client(origin, [], { token: async () => `tok${++n}` });
    live.start();
    await until(() => received.length > 0);
    live.stop();
    expect(received).toEqual([{ type: "auth", token: "tok2" }]);
  });

  it("keeps trying while the server is down, and connects when it is back", async () => {
    const states: string[] = [];
    let up = false;
    const origin = await serve((ws) => {
      if (!up) return ws.close(1013, "try again later");
      ws.send(ready);
    });
    const live = client(origin, [], { onState: (s) => states.push(s) });
    live.start();
    await until(() => live.connections >= 3);
    up = true;
    await until(() => live.state === "live");
    live.stop();
    expect(states.at(-2)).toBe("live");
    expect(states.at(-1)).toBe("offline");
  });
});
