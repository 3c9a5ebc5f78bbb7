import { useCallback, useEffect, useState } from "react";
import { api, type Schemas } from "../api/client";
import { eventData, useLive } from "../live/bus";
import { initials, timeOf, useDebounced, useNames } from "../util";

type Now = Schemas["TeamNowRead"];

const LABEL: Record<string, string> = {
  focusing: "focusing",
  in_meeting: "in a meeting",
  busy: "busy",
  online: "online",
  away: "away",
  offline: "offline",
};

/** The team's "now": who is focusing until when, in a meeting, online; live from presence frames. */
export function NowStrip({ team }: { team: Schemas["TeamRead"] }) {
  const [now, setNow] = useState<Now | null>(null);
  const load = useCallback(async () => {
    const { data } = await api.GET("/api/v1/teams/{team_id}/now", { params: { path: { team_id: team.id } } });
    if (data) setNow(data);
  }, [team.id]);
  useEffect(() => void load(), [load]);
  const reload = useDebounced(() => void load(), 200);
  useLive((f) => {
    if (f.type === "presence" && f.team_id === team.id) reload();
    const e = eventData(f);
    if (e && e.data.team_id === team.id && /^(focus|meetings|teams)\./.test(e.type)) reload();
  }, reload);
  const members = [...(now?.members ?? [])].sort((a, b) => rank(a.status) - rank(b.status));
  const name = useNames(members.map((m) => m.user_id));
  return (
    <section className="now" aria-label="Now in the team" data-testid="now-strip">
      {members.map((m) => (
        <span key={m.user_id} className={`who status-${m.status}`} data-user={name(m.user_id)} data-status={m.status}>
          <span className="avatar" aria-hidden="true">
            {initials(name(m.user_id))}
          </span>
          <span>
            {name(m.user_id)} · {LABEL[m.status] ?? m.status}
            {m.status === "focusing" && m.until ? ` until ${timeOf(m.until)}` : ""}
          </span>
        </span>
      ))}
    </section>
  );
}

function rank(status: string): number {
  return ["focusing", "in_meeting", "busy", "online", "away", "offline"].indexOf(status);
}
