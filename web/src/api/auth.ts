// The signed-in session: tokens, silent refresh, and the fetch every API call goes through.
//
// - The access token (15 min) is refreshed shortly before it expires, when a call needs it, and
//   once more when a call still answers 401 (a clock off, a revoked key); the call is then retried
//   once with the new token. Concurrent calls share one refresh (single flight).
// - Refresh tokens rotate and a reused one revokes its whole family (CONTRACT.md), so two tabs
//   must never refresh with the same token: the refresh runs under a Web Lock across tabs and
//   first re-reads the stored pair, which another tab may have refreshed already.
// - A refresh that is refused (401) signs the session out; a network failure does not.
import type { components } from "./schema";

export type TokenPair = components["schemas"]["TokenPair"];

export interface Tokens {
  access: string;
  refresh: string;
  /** epoch ms at which the access token expires */
  expiresAt: number;
}

export interface TokenStorage {
  load(): Tokens | null;
  save(tokens: Tokens | null): void;
}

export class MemoryStorage implements TokenStorage {
  constructor(private tokens: Tokens | null = null) {}
  load() {
    return this.tokens;
  }
  save(tokens: Tokens | null) {
    this.tokens = tokens;
  }
}

export class LocalStorage implements TokenStorage {
  constructor(private key = "vc.tokens") {}
  load(): Tokens | null {
    try {
      const raw = localStorage.getItem(this.key);
      return raw ? (JSON.parse(raw) as Tokens) : null;
    } catch {
      return null;
    }
  }
  save(tokens: Tokens | null) {
    if (tokens) localStorage.setItem(this.key, JSON.stringify(tokens));
    else localStorage.removeItem(this.key);
  }
}

export class AuthError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface SessionOptions {
  baseUrl?: string;
  storage?: TokenStorage;
  fetch?: typeof fetch;
  now?: () => number;
  /** refresh this long before the access token expires */
  skewMs?: number;
  /** run `fn` alone across tabs (navigator.locks); default: when the browser has it */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
}

type Listener = (signedIn: boolean) => void;

function webLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return locks ? (locks.request("vc.refresh", fn) as Promise<T>) : fn();
}

export class Session {
  private base: string;
  private storage: TokenStorage;
  private fetchImpl: typeof fetch;
  private now: () => number;
  private skew: number;
  private lock: <T>(fn: () => Promise<T>) => Promise<T>;
  private inflight: Promise<boolean> | null = null;
  private listeners = new Set<Listener>();
  /** refreshes done by this session (for tests and the debug panel) */
  refreshes = 0;

  constructor(opts: SessionOptions = {}) {
    this.base = opts.baseUrl ?? "";
    this.storage = opts.storage ?? new MemoryStorage();
    this.fetchImpl = opts.fetch ?? ((...a) => globalThis.fetch(...a));
    this.now = opts.now ?? Date.now;
    this.skew = opts.skewMs ?? 30_000;
    this.lock = opts.lock ?? webLock;
  }

  get tokens(): Tokens | null {
    return this.storage.load();
  }

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(tokens: Tokens | null) {
    const was = this.signedIn;
    this.storage.save(tokens);
    if (was !== (tokens !== null)) for (const fn of this.listeners) fn(tokens !== null);
  }

  private keep(pair: TokenPair) {
    this.set({
      access: pair.access_token,
      refresh: pair.refresh_token,
      expiresAt: this.now() + pair.expires_in * 1000,
    });
  }

  private async post(path: string, body: unknown): Promise<Response> {
    return this.fetchImpl(
      new Request(this.base + path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }),
    );
  }

  async login(username: string, password: string): Promise<void> {
    const r = await this.post("/api/v1/auth/login", { username, password });
    if (!r.ok) {
      const problem = (await r.json().catch(() => ({}))) as { detail?: string };
      throw new AuthError(problem.detail ?? "Signing in failed.", r.status);
    }
    this.keep((await r.json()) as TokenPair);
  }

  async logout(): Promise<void> {
    const t = this.tokens;
    this.set(null);
    if (t) await this.post("/api/v1/auth/logout", { refresh_token: t.refresh }).catch(() => undefined);
  }

  /** Forget the tokens without telling the server (another tab signed out, a dead family). */
  drop(): void {
    this.set(null);
  }

  /** A valid access token, refreshed first when it is about to expire; null when signed out. */
  async accessToken(): Promise<string | null> {
    const t = this.tokens;
    if (!t) return null;
    if (t.expiresAt - this.now() > this.skew) return t.access;
    await this.refresh(t.access);
    return this.tokens?.access ?? null;
  }

  /** Refresh the pair unless it already changed since `stale` was read (single flight). */
  refresh(stale?: string): Promise<boolean> {
    if (!this.inflight) {
      this.inflight = this.lock(() => this.refreshNow(stale)).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async refreshNow(stale?: string): Promise<boolean> {
    const t = this.tokens; // re-read: another tab may have refreshed while we waited
    if (!t) return false;
    if (stale !== undefined && t.access !== stale && t.expiresAt - this.now() > this.skew) return true;
    let r: Response;
    try {
      r = await this.post("/api/v1/auth/refresh", { refresh_token: t.refresh });
    } catch {
      return false; // offline: keep the tokens, the next call tries again
    }
    if (r.status === 401 || r.status === 422) {
      this.set(null);
      return false;
    }
    if (!r.ok) return false;
    this.refreshes += 1;
    this.keep((await r.json()) as TokenPair);
    return true;
  }

  /** The fetch of the typed client: adds the bearer token, refreshes and retries once on 401. */
  fetch = async (input: Request): Promise<Response> => {
    const spare = input.clone();
    const token = await this.accessToken();
    if (token) input.headers.set("Authorization", `Bearer ${token}`);
    const resp = await this.fetchImpl(input);
    if (resp.status !== 401 || !token) return resp;
    if (!(await this.refresh(token))) return resp;
    spare.headers.set("Authorization", `Bearer ${this.tokens!.access}`);
    return this.fetchImpl(spare);
  };
}
