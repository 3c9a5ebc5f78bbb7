// One live socket for the signed-in app; screens subscribe to its frames.
import { useEffect, useRef } from "react";
import { session } from "../api/client";
import { type Frame, LiveSocket, type LiveState } from "./socket";

type Handler = (frame: Frame) => void;
const handlers = new Set<Handler>();
const reloaders = new Set<() => void>();
const stateListeners = new Set<(s: LiveState) => void>();

let live: LiveSocket | null = null;

export function startLive(): LiveSocket {
  if (live) return live;
  const origin = location.origin.replace(/^http/, "ws");
  live = new LiveSocket({
    origin,
    token: () => session.accessToken(),
    onFrame: (f) => {
      if (f.type === "resumed" || f.type === "reload") (window as unknown as { __vcResume: unknown }).__vcResume = f;
      handlers.forEach((h) => h(f));
    },
    onReload: () => reloaders.forEach((r) => r()),
    onState: (s) => stateListeners.forEach((l) => l(s)),
  });
  live.start();
  (window as unknown as { __vcLive: LiveSocket }).__vcLive = live; // for the browser tests
  return live;
}

export function stopLive(): void {
  live?.stop();
  live = null;
}

export function liveActivity(): void {
  live?.activity();
}

/** Call `fn` for every live frame while the component is mounted; `reload` after a lost resume. */
export function useLive(fn: Handler, reload?: () => void): void {
  const ref = useRef(fn);
  ref.current = fn;
  const reloadRef = useRef(reload);
  reloadRef.current = reload;
  useEffect(() => {
    const h: Handler = (f) => ref.current(f);
    const r = () => reloadRef.current?.();
    handlers.add(h);
    reloaders.add(r);
    return () => {
      handlers.delete(h);
      reloaders.delete(r);
    };
  }, []);
}

export function onLiveState(fn: (s: LiveState) => void): () => void {
  stateListeners.add(fn);
  return () => stateListeners.delete(fn);
}

export function eventData(f: Frame): { type: string; data: Record<string, unknown> } | null {
  return f.type === "event" ? { type: f.event.type, data: f.event.data ?? {} } : null;
}
