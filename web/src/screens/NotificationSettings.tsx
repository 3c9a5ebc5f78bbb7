import { useEffect, useState } from "react";
import { api, problemText, type Schemas } from "../api/client";

type Prefs = Schemas["PreferencesRead"];

const LABELS: Record<string, string> = {
  "task.assigned": "A task is assigned to me",
  "task.commented": "A comment on my task",
  "team.member_added": "I am added to a team",
  "meeting.invited": "I am invited to a meeting",
  "meeting.started": "My meeting starts",
  "calendar.reminder": "Calendar reminders",
  "chat.mention": "I am mentioned in chat",
  "focus.goal_reached": "I reach my focus goal",
  "integration.needs_reconnect": "An integration needs reconnecting",
};

/** What reaches me, where, and when: per kind in-app / email, held while I focus, quiet hours
 * (read in my profile timezone). Saved with one PUT of what changed. */
export function NotificationSettings() {
  const [prefs, setPrefs] = useState<Prefs | null>(null);
  const [quiet, setQuiet] = useState({ on: false, start: "22:00", end: "07:00" });
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    void api.GET("/api/v1/notifications/preferences").then(({ data }) => {
      if (!data) return;
      setPrefs(data);
      if (data.quiet_hours) setQuiet({ on: true, start: data.quiet_hours.start.slice(0, 5), end: data.quiet_hours.end.slice(0, 5) });
    });
  }, []);
  if (!prefs) return <p role="status">Loading settings…</p>;

  const setChannel = (kind: string, channel: "in_app" | "email", value: boolean) =>
    setPrefs({ ...prefs, channels: { ...prefs.channels, [kind]: { ...prefs.channels[kind], [channel]: value } } });

  return (
    <form
      className="settings"
      aria-label="Notification settings"
      onSubmit={async (e) => {
        e.preventDefault();
        setStatus(null);
        const { data, error } = await api.PUT("/api/v1/notifications/preferences", {
          body: {
            channels: prefs.channels as Schemas["PreferencesUpdate"]["channels"],
            defer_during_focus: prefs.defer_during_focus,
            quiet_hours: quiet.on ? { start: quiet.start, end: quiet.end } : null,
          },
        });
        if (error) return setStatus({ ok: false, text: problemText(error) });
        setPrefs(data);
        setStatus({ ok: true, text: "Saved." });
      }}
    >
      <label className="check">
        <input
          type="checkbox"
          checked={prefs.defer_during_focus}
          onChange={(e) => setPrefs({ ...prefs, defer_during_focus: e.target.checked })}
        />{" "}
        Hold notifications while I focus (delivered when the session ends)
      </label>
      <fieldset>
        <legend>Quiet hours ({prefs.timezone})</legend>
        <label className="check">
          <input type="checkbox" checked={quiet.on} onChange={(e) => setQuiet({ ...quiet, on: e.target.checked })} /> No email
          between
        </label>{" "}
        <input type="time" aria-label="Quiet from" value={quiet.start} disabled={!quiet.on} onChange={(e) => setQuiet({ ...quiet, start: e.target.value })} />{" "}
        and{" "}
        <input type="time" aria-label="Quiet until" value={quiet.end} disabled={!quiet.on} onChange={(e) => setQuiet({ ...quiet, end: e.target.value })} />
      </fieldset>
      <table className="channels">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">In app</th>
            <th scope="col">Email</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(prefs.channels).map(([kind, ch]) => (
            <tr key={kind}>
              <th scope="row">{LABELS[kind] ?? kind}</th>
              {(["in_app", "email"] as const).map((channel) => (
                <td key={channel}>
                  <input
                    type="checkbox"
                    aria-label={`${LABELS[kind] ?? kind}: ${channel === "in_app" ? "in app" : "email"}`}
                    checked={ch[channel]}
                    onChange={(e) => setChannel(kind, channel, e.target.checked)}
                  />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <button type="submit">Save settings</button>
      {status && (
        <p role={status.ok ? "status" : "alert"} className={status.ok ? "ok" : "error"}>
          {status.text}
        </p>
      )}
    </form>
  );
}
