// Loaded on demand (its own chunk): uPlot is the charting library (~45 kB, canvas, fast on
// hundreds of points), only fetched by those who open the charts.
import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api, type Schemas } from "../api/client";
import { addDays, today } from "../util";

type Row = Schemas["TeamAnalyticsRead"];

export default function AnalyticsScreen({ team }: { team: Schemas["TeamRead"] }) {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [days, setDays] = useState(14);
  useEffect(() => {
    const to = today();
    void api
      .GET("/api/v1/teams/{team_id}/analytics", {
        params: { path: { team_id: team.id }, query: { from: addDays(to, -(days - 1)), to } },
      })
      .then(({ data }) => setRows(data?.items ?? []));
  }, [team.id, days]);
  return (
    <section aria-labelledby="a-title">
      <div className="toolbar">
        <h1 id="a-title">Analytics</h1>
        <label>
          Period
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={7}>7 days</option>
            <option value={14}>14 days</option>
            <option value={30}>30 days</option>
          </select>
        </label>
      </div>
      {!rows ? <p role="status">Loading…</p> : <Chart rows={rows} />}
      {rows && (
        <table className="data">
          <caption>The team's days</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Active members</th>
              <th scope="col">Tasks done</th>
              <th scope="col">Focus minutes</th>
              <th scope="col">Meetings</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.date}>
                <td>{r.date}</td>
                <td>{r.active_members}</td>
                <td>{r.completed_tasks}</td>
                <td>{r.total_focus_minutes}</td>
                <td>{r.meetings_count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Chart({ rows }: { rows: Row[] }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const xs = rows.map((r) => new Date(`${r.date}T12:00:00Z`).getTime() / 1000);
    const plot = new uPlot(
      {
        width: Math.min(900, el.current.clientWidth || 600),
        height: 260,
        series: [
          {},
          { label: "Tasks done", stroke: "#2f6feb", width: 2 },
          { label: "Focus hours", stroke: "#1a7f37", width: 2, scale: "h" },
          { label: "Active members", stroke: "#9a6700", width: 2 },
        ],
        axes: [{}, {}, { scale: "h", side: 1, grid: { show: false } }],
      },
      [xs, rows.map((r) => r.completed_tasks), rows.map((r) => r.total_focus_minutes / 60), rows.map((r) => r.active_members)],
      el.current,
    );
    return () => plot.destroy();
  }, [rows]);
  return <div ref={el} className="chart" role="img" aria-label="Tasks done, focus hours and active members per day" />;
}
