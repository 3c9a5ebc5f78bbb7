// The one live socket (`/api/v1/ws`, CONTRACT.md "Live updates"): every event of the caller's
// teams, their notifications and presence changes.
//
// - Reconnects after any drop with capped, jittered backoff, and asks for what it missed:
//   `?after=<id of the last event or presence frame seen>` on the new socket (the service
//   replays it in order, then goes live). A `reload` answer (too old, too many) tells the app to
//   fetch its state afresh instead.
// - Never hands the app the same frame twice (the ids of recent frames are remembered), so a
//   replay that overlaps what arrived is harmless.
// - Keeps the socket's token fresh: on `auth.expiring` it sends `{"type":"auth","token"}` with
//   a token from the session (which refreshes it silently).

export interface CloudEvent {
  id: string;
  type: string;
  source?: string;
  subject?: string;
  time?: string;
  data: Record<string, unknown>;
}

export type Frame =
  | { type: "ready"; user_id: string; teams: string[]; exp: number }
  | { type: "event"; event: CloudEvent }
  | { type: "presence"; id?: string; team_id: string; user_id: string; status: string; [k: string]: unknown }
  | { type: "resumed"; after: string; replayed: number }
  | { type: "reload"; reason: string; after: string; detail: string }
  | { type: "auth.expiring"; exp: number }
  | { type: "auth.ok"; exp: number }
  | { type: "pong" }
  | { type: "error"; status: number; title?: string; detail?: string };

export interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export type LiveState = "connecting" | "live" | "offline";

export interface LiveOptions {
  /** ws(s)://host of the gateway */
  origin: string;
  token: () => Promise<string | null>;
  onFrame: (frame: Frame) => void;
  /** the state could not be resumed: fetch it again */
  onReload?: (reason: string) => void;
  onState?: (state: LiveState) => void;
  socket?: SocketFactory;
  /** backoff: first delay and cap, in ms */
  minDelay?: number;
  maxDelay?: number;
  random?: () => number;
}

const OPEN = 1;
const REMEMBER = 500;

export class LiveSocket {
  private ws: SocketLike | null = null;
  private lastId: string | null = null;
  private seen = new Set<string>();
  private order: string[] = [];
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  state: LiveState = "offline";
  /** connections opened so far (1 + reconnects) */
  connections = 0;

  constructor(private opts: LiveOptions) {}

  get after(): string | null {
    return this.lastId;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, "bye");
    this.setState("offline");
  }

  /** Tell the service the user is active (it throttles the writes itself). */
  activity(): void {
    this.send({ type: "activity" });
  }

  send(frame: object): void {
    if (this.ws && this.ws.readyState === OPEN) this.ws.send(JSON.stringify(frame));
  }

  private setState(state: LiveState) {
    if (this.state === state) return;
    this.state = state;
    this.opts.onState?.(state);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setState("connecting");
    const token = await this.opts.token();
    if (this.stopped) return;
    if (!token) {
      this.schedule();
      return;
    }
    const params = new URLSearchParams({ token });
    if (this.lastId) params.set("after", this.lastId);
    const factory: SocketFactory =
      this.opts.socket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    let ws: SocketLike;
    try {
      ws = factory(`${this.opts.origin}/api/v1/ws?${params}`);
    } catch {
      this.schedule();
      return;
    }
    this.ws = ws;
    this.connections += 1;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.receive(String(ev.data));
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState("offline");
      this.schedule();
    };
    ws.onerror = () => undefined; // onclose follows
  }

  private schedule() {
    if (this.stopped || this.timer) return;
    const min = this.opts.minDelay ?? 500;
    const max = this.opts.maxDelay ?? 15_000;
    const base = Math.min(max, min * 2 ** this.attempt);
    const delay = base / 2 + (this.opts.random ?? Math.random)() * (base / 2);
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }

  private remember(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    this.order.push(id);
    if (this.order.length > REMEMBER) this.seen.delete(this.order.shift()!);
    return true;
  }

  private receive(text: string) {
    let frame: Frame;
    try {
      frame = JSON.parse(text) as Frame;
    } catch {
      return;
    }
    switch (frame.type) {
      case "ready":
        this.attempt = 0;
        this.setState("live");
        break;
      case "event":
        if (!this.remember(frame.event.id)) return;
        this.lastId = frame.event.id;
        break;
      case "presence":
        if (frame.id) {
          if (!this.remember(frame.id)) return;
          this.lastId = frame.id;
        }
        break;
      case "reload":
        this.lastId = null;
        this.opts.onReload?.(frame.reason);
        break;
      case "auth.expiring":
        void this.opts.token().then((token) => token && this.send({ type: "auth", token }));
        break;
    }
    this.opts.onFrame(frame);
  }
}
