import { useEffect, useRef, useState } from "react";
import { api } from "./api/client";

export function today(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T12:00:00`);
  d.setDate(d.getDate() + days);
  return today(d);
}

export function timeOf(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** Calls `fn` at most once per `ms`, trailing. */
export function useDebounced(fn: () => void, ms = 150): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  return () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      ref.current();
    }, ms);
  };
}

// usernames of user ids, fetched once each (GET /api/v1/users/{id})
const names = new Map<string, string>();
const pending = new Map<string, Promise<void>>();
const nameListeners = new Set<() => void>();

export function rememberName(id: string, name: string): void {
  names.set(id, name);
}

function loadName(id: string): Promise<void> {
  if (!pending.has(id)) {
    pending.set(
      id,
      api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: id } } }).then(({ data }) => {
        names.set(id, data ? data.username : "unknown");
        nameListeners.forEach((l) => l());
      }),
    );
  }
  return pending.get(id)!;
}

export function useNames(ids: (string | null | undefined)[]): (id: string | null | undefined) => string {
  const [, bump] = useState(0);
  useEffect(() => {
    const l = () => bump((n) => n + 1);
    nameListeners.add(l);
    return () => void nameListeners.delete(l);
  }, []);
  const key = ids.filter(Boolean).join(",");
  useEffect(() => {
    for (const id of ids) if (id && !names.has(id)) void loadName(id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return (id) => (id ? (names.get(id) ?? "…") : "nobody");
}

export function initials(name: string): string {
  return name.slice(0, 2).toUpperCase();
}

/** A random UUID (v4) for Idempotency-Key; crypto.randomUUID needs a secure context. */
export function uuid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
