import { useCallback, useEffect, useState } from "react";
import { api, type Schemas } from "../api/client";
import { eventData, useLive } from "../live/bus";
import { NotificationSettings } from "./NotificationSettings";

export function NotificationsScreen({ onCount }: { onCount: (n: number) => void }) {
  const [items, setItems] = useState<Schemas["NotificationRead"][] | null>(null);
  const [unreadOnly, setUnreadOnly] = useState(false);
  const load = useCallback(async () => {
    const [l, c] = await Promise.all([
      api.GET("/api/v1/notifications", { params: { query: { limit: 100, ...(unreadOnly ? { unread: true } : {}) } } }),
      api.GET("/api/v1/notifications/unread-count"),
    ]);
    if (l.data) setItems(l.data.items);
    if (c.data) onCount(c.data.count);
  }, [unreadOnly, onCount]);
  useEffect(() => void load(), [load]);
  useLive((f) => {
    const e = eventData(f);
    if (e && e.type.startsWith("notifications.")) void load();
  }, load);

  return (
    <section aria-labelledby="n-title">
      <div className="toolbar">
        <h1 id="n-title">Notifications</h1>
        <label className="check">
          <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} /> Unread only
        </label>
        <button
          onClick={async () => {
            await api.POST("/api/v1/notifications/read-all", { body: {} });
            void load();
          }}
        >
          Mark all read
        </button>
      </div>
      <details className="panel">
        <summary>Settings</summary>
        <NotificationSettings />
      </details>
      {!items ? (
        <p role="status">Loading…</p>
      ) : items.length === 0 ? (
        <p>Nothing yet.</p>
      ) : (
        <ul className="plain notifications" data-testid="notifications">
          {items.map((n) => (
            <li key={n.id} className={`n n-${n.notification_type}${n.is_read ? " read" : ""}`}>
              <div>
                <strong>{n.title}</strong> <span className="muted">{new Date(n.created_at).toLocaleString()}</span>
                <p>{n.message}</p>
              </div>
              {!n.is_read && (
                <button
                  aria-label={`Mark "${n.title}" read`}
                  onClick={async () => {
                    await api.POST("/api/v1/notifications/{notification_id}/read", { params: { path: { notification_id: n.id } } });
                    void load();
                  }}
                >
                  Mark read
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
