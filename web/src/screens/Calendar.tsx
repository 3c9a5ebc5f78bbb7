import { useCallback, useEffect, useState } from "react";
import { api, problemText, type Schemas } from "../api/client";
import { eventData, useLive } from "../live/bus";
import { addDays, timeOf, today } from "../util";

type Item = Schemas["CalendarItem"];

function monday(date: string): string {
  const d = new Date(`${date}T12:00:00`);
  return addDays(date, -((d.getDay() + 6) % 7));
}

export function CalendarScreen({ team }: { team: Schemas["TeamRead"] }) {
  const [mode, setMode] = useState<"month" | "week">("week");
  const [anchor, setAnchor] = useState(today());
  const [items, setItems] = useState<Item[]>([]);
  const [error, setError] = useState("");
  const [form, setForm] = useState({ title: "", date: today(), start: "10:00", end: "11:00", recurrence: "", reminder: "" });

  const first = mode === "week" ? monday(anchor) : monday(anchor.slice(0, 8) + "01");
  const count = mode === "week" ? 7 : 42;
  const days = Array.from({ length: count }, (_, i) => addDays(first, i));

  const load = useCallback(async () => {
    const from = new Date(`${first}T00:00:00`).toISOString();
    const to = new Date(`${addDays(first, count)}T00:00:00`).toISOString();
    const { data } = await api.GET("/api/v1/calendar/events", { params: { query: { from, to, team_id: team.id, limit: 200 } } });
    if (data) setItems(data.items);
  }, [first, count, team.id]);
  useEffect(() => void load(), [load]);
  useLive((f) => {
    const e = eventData(f);
    if (e && e.type.startsWith("calendar.")) void load();
  }, load);

  const on = (day: string) =>
    items.filter((i) => (i.start_date ?? (i.start_time ? today(new Date(i.start_time)) : "")) === day);
  const step = (n: number) => setAnchor(mode === "week" ? addDays(anchor, 7 * n) : addDays(first, 7 * 6 * n > 0 ? 35 : -7).slice(0, 8) + "15");

  return (
    <section aria-labelledby="cal-title">
      <div className="toolbar">
        <h1 id="cal-title">Calendar</h1>
        <div role="group" aria-label="View" className="tabs">
          <button aria-pressed={mode === "week"} onClick={() => setMode("week")}>
            Week
          </button>
          <button aria-pressed={mode === "month"} onClick={() => setMode("month")}>
            Month
          </button>
        </div>
        <button aria-label="Previous" onClick={() => step(-1)}>
          ‹
        </button>
        <button onClick={() => setAnchor(today())}>Today</button>
        <button aria-label="Next" onClick={() => step(1)}>
          ›
        </button>
        <span>{new Date(`${anchor}T12:00:00`).toLocaleDateString([], { month: "long", year: "numeric" })}</span>
      </div>
      <ol className={`cal cal-${mode}`} aria-label={`${mode} of ${first}`}>
        {days.map((d) => (
          <li key={d} className={d === today() ? "today" : ""}>
            <span className="day">{new Date(`${d}T12:00:00`).toLocaleDateString([], { weekday: "short", day: "numeric" })}</span>
            <ul className="plain">
              {on(d).map((i) => (
                <li key={`${i.id}${i.occurrence_start ?? ""}`} className={`ev ev-${i.event_type}`}>
                  {i.start_time && !i.is_all_day ? `${timeOf(i.start_time)} ` : ""}
                  {i.title}
                  {i.is_recurring ? " ↻" : ""}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
      <h2>New event</h2>
      <form
        className="grid-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const start = new Date(`${form.date}T${form.start}`).toISOString();
          const end = new Date(`${form.date}T${form.end}`).toISOString();
          const { data, error } = await api.POST("/api/v1/calendar/events", {
            body: {
              title: form.title,
              start_time: start,
              end_time: end,
              team_id: team.id,
              recurrence: form.recurrence || null,
              timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
            },
          });
          if (error) return setError(problemText(error));
          if (form.reminder) {
            await api.POST("/api/v1/calendar/events/{event_id}/reminders", {
              params: { path: { event_id: data!.id } },
              body: { minutes_before: Number(form.reminder) },
            });
          }
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
          From
          <input type="time" required value={form.start} onChange={(e) => setForm({ ...form, start: e.target.value })} />
        </label>
        <label>
          To
          <input type="time" required value={form.end} onChange={(e) => setForm({ ...form, end: e.target.value })} />
        </label>
        <label>
          Repeats
          <select value={form.recurrence} onChange={(e) => setForm({ ...form, recurrence: e.target.value })}>
            <option value="">never</option>
            <option value="FREQ=DAILY">daily</option>
            <option value="FREQ=WEEKLY">weekly</option>
            <option value="FREQ=MONTHLY">monthly</option>
          </select>
        </label>
        <label>
          Reminder
          <select value={form.reminder} onChange={(e) => setForm({ ...form, reminder: e.target.value })}>
            <option value="">none</option>
            <option value="5">5 min before</option>
            <option value="15">15 min before</option>
            <option value="60">1 h before</option>
          </select>
        </label>
        <button type="submit">Add event</button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </section>
  );
}
