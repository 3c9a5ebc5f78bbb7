import { useCallback, useEffect, useState } from "react";
import { api, problemText, type Schemas } from "../api/client";
import { eventData, useLive } from "../live/bus";
import { today } from "../util";

export function MeetingsScreen({ team }: { team: Schemas["TeamRead"]; me: Schemas["UserRead"] }) {
  const [items, setItems] = useState<Schemas["MeetingRead"][]>([]);
  const [form, setForm] = useState({ title: "", date: today(), start: "14:00", minutes: "30" });
  const [error, setError] = useState("");
  const load = useCallback(async () => {
    const { data } = await api.GET("/api/v1/teams/{team_id}/meetings", { params: { path: { team_id: team.id }, query: { limit: 100 } } });
    if (data) setItems(data.items);
  }, [team.id]);
  useEffect(() => void load(), [load]);
  useLive((f) => {
    const e = eventData(f);
    if (e && e.type.startsWith("meetings.")) void load();
  }, load);

  async function join(id: string) {
    const { data, error } = await api.POST("/api/v1/meetings/{meeting_id}/join", { params: { path: { meeting_id: id } } });
    if (error) return setError(problemText(error));
    window.open(data!.join_url, "_blank", "noopener");
  }

  return (
    <section aria-labelledby="mt-title">
      <h1 id="mt-title">Meetings</h1>
      {error && <p role="alert" className="error">{error}</p>}
      <ul className="plain meetings">
        {items.map((m) => (
          <li key={m.id}>
            <strong>{m.title}</strong> <span className="muted">{new Date(m.start_time).toLocaleString()} · {m.status}</span>{" "}
            {m.status !== "cancelled" && m.status !== "completed" && <button onClick={() => void join(m.id)}>Join</button>}{" "}
            <a href={m.meeting_link} target="_blank" rel="noreferrer">
              link
            </a>
          </li>
        ))}
      </ul>
      <h2>Schedule a meeting</h2>
      <form
        className="grid-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const start = new Date(`${form.date}T${form.start}`);
          const end = new Date(start.getTime() + Number(form.minutes) * 60_000);
          const { error } = await api.POST("/api/v1/teams/{team_id}/meetings", {
            params: { path: { team_id: team.id } },
            body: { title: form.title, start_time: start.toISOString(), end_time: end.toISOString() },
          });
          if (error) return setError(problemText(error));
          setError("");
          setForm({ ...form, title: "" });
          void load();
        }}
      >
        <label>
          Title
          <input required value={form.title} onChange={(e) => setForm({ ...form, title: e.target.value })} />
        </label>
        <label>
          Day
          <input type="date" required value={form.date} onChange={(e) => setForm({ ...form, date: e.target.value })} />
        </label>
        <label>
          Starts
          <input type="time" required value={form.start} onChange={(e) => setForm({ ...form, start: e.target.value })} />
        </label>
        <label>
          Minutes
          <input type="number" min={5} max={480} value={form.minutes} onChange={(e) => setForm({ ...form, minutes: e.target.value })} />
        </label>
        <button type="submit">Schedule</button>
      </form>
    </section>
  );
}
