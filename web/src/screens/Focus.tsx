import { useCallback, useEffect, useState } from "react";
import { api, problemText, type Schemas } from "../api/client";
import { eventData, useLive } from "../live/bus";
import { today } from "../util";

type Session = Schemas["FocusSessionRead"];

function left(until: string, now: number): string {
  const s = Math.max(0, Math.round((new Date(until).getTime() - now) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function FocusScreen({ team }: { team: Schemas["TeamRead"] }) {
  const [current, setCurrent] = useState<Session | null | undefined>(undefined);
  const [goal, setGoal] = useState<Schemas["DailyFocusGoalRead"] | null>(null);
  const [target, setTarget] = useState("4");
  const [custom, setCustom] = useState("45");
  const [error, setError] = useState("");
  const [now, setNow] = useState(Date.now());
  const day = today();

  const load = useCallback(async () => {
    const [c, g] = await Promise.all([
      api.GET("/api/v1/focus/sessions/current"),
      api.GET("/api/v1/focus/goals", { params: { query: { from: day, to: day } } }),
    ]);
    setCurrent(c.data ?? null);
    const mine = g.data?.items[0] ?? null;
    setGoal(mine);
    if (mine) setTarget(String(mine.target_hours));
  }, [day]);
  useEffect(() => void load(), [load]);
  useEffect(() => {
    if (!current) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [current]);
  useLive((f) => {
    const e = eventData(f);
    if (e && e.type.startsWith("focus.")) void load();
  }, load);

  async function start(focus_type: "pomodoro" | "deep_work" | "custom") {
    const { data, error } = await api.POST("/api/v1/focus/sessions", {
      body: { focus_type, team_id: team.id, duration_minutes: focus_type === "custom" ? Number(custom) : null },
    });
    if (error) return setError(problemText(error));
    setError("");
    setCurrent(data);
  }

  async function act(kind: "interrupt" | "stop") {
    if (!current) return;
    const path = { params: { path: { session_id: current.id } } };
    const r =
      kind === "stop"
        ? await api.POST("/api/v1/focus/sessions/{session_id}/stop", { ...path, body: {} })
        : await api.POST("/api/v1/focus/sessions/{session_id}/interrupt", path);
    if (r.error) return setError(problemText(r.error));
    setError("");
    if (kind === "stop") void load();
    else setCurrent(r.data ?? null);
  }

  const pct = goal && goal.target_hours > 0 ? Math.min(100, (goal.actual_hours / goal.target_hours) * 100) : 0;
  return (
    <section aria-labelledby="focus-title" className="focus">
      <h1 id="focus-title">Focus</h1>
      {current === undefined ? (
        <p role="status">Loading…</p>
      ) : current ? (
        <div className="timer" data-testid="focus-running">
          <p className="big" aria-live="off" aria-label="Time left">
            {left(current.planned_end_time, now)}
          </p>
          <p>
            {current.focus_type.replace("_", " ")} · {current.duration_minutes} min · {current.interruptions} interruptions
          </p>
          <div className="row">
            <button onClick={() => void act("interrupt")}>Interrupted</button>
            <button className="primary" onClick={() => void act("stop")}>
              Stop focus
            </button>
          </div>
        </div>
      ) : (
        <div className="row wrap">
          <button className="primary" onClick={() => void start("pomodoro")}>
            Start pomodoro (25 min)
          </button>
          <button onClick={() => void start("deep_work")}>Start deep work (90 min)</button>
          <form className="inline" onSubmit={(e) => (e.preventDefault(), void start("custom"))}>
            <label>
              Minutes
              <input type="number" min={1} max={480} value={custom} onChange={(e) => setCustom(e.target.value)} />
            </label>
            <button type="submit">Start custom</button>
          </form>
        </div>
      )}
      {error && <p role="alert" className="error">{error}</p>}
      <h2>Today's goal</h2>
      <p>
        <progress max={100} value={pct} aria-label="Goal progress" /> {goal ? `${goal.actual_hours.toFixed(1)} of ${goal.target_hours} h` : "no goal set"}
      </p>
      <form
        className="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          const { data, error } = await api.PUT("/api/v1/focus/goals/{date}", {
            params: { path: { date: day } },
            body: { target_hours: Number(target) },
          });
          if (error) return setError(problemText(error));
          setGoal(data);
        }}
      >
        <label>
          Hours of focus today
          <input type="number" min={0.5} max={16} step={0.5} value={target} onChange={(e) => setTarget(e.target.value)} />
        </label>
        <button type="submit">Set goal</button>
      </form>
    </section>
  );
}
