// Paths of the client (the gateway answers index.html for each): /board, /chat, /focus, ...
import { useEffect, useState } from "react";

export const VIEWS = [
  ["board", "Board"],
  ["chat", "Chat"],
  ["focus", "Focus"],
  ["calendar", "Calendar"],
  ["meetings", "Meetings"],
  ["files", "Files"],
  ["members", "Members"],
  ["analytics", "Analytics"],
  ["notifications", "Notifications"],
] as const;

export type View = (typeof VIEWS)[number][0];

function current(): View {
  const seg = location.pathname.split("/")[1] as View;
  return VIEWS.some(([v]) => v === seg) ? seg : "board";
}

const listeners = new Set<() => void>();

export function navigate(view: View): void {
  if (current() !== view || location.pathname !== `/${view}`) history.pushState(null, "", `/${view}`);
  listeners.forEach((l) => l());
}

export function useView(): View {
  const [view, setView] = useState<View>(current);
  useEffect(() => {
    const update = () => setView(current());
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return view;
}
