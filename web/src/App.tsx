import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { api, problemText, type Schemas, session } from "./api/client";
import { eventData, liveActivity, onLiveState, startLive, stopLive, useLive } from "./live/bus";
import type { LiveState } from "./live/socket";
import { navigate, useView, VIEWS } from "./router";
import { AuthScreen } from "./screens/Auth";
import { BoardScreen } from "./screens/Board";
import { ChatScreen } from "./screens/Chat";
import { FocusScreen } from "./screens/Focus";
import { MembersScreen } from "./screens/Members";
import { NotificationsScreen } from "./screens/Notifications";
import { NowStrip } from "./screens/NowStrip";
import { CalendarScreen } from "./screens/Calendar";
import { MeetingsScreen } from "./screens/Meetings";
import { FilesScreen } from "./screens/Files";
import { rememberName } from "./util";

const AnalyticsScreen = lazy(() => import("./screens/Analytics"));

export type Me = Schemas["UserRead"];
export type Team = Schemas["TeamRead"];

export function App() {
  const [signedIn, setSignedIn] = useState(session.signedIn);
  useEffect(() => session.onChange(setSignedIn), []);
  useEffect(() => {
    // another tab signed in or out
    const onStorage = (e: StorageEvent) => e.key === "vc.tokens" && setSignedIn(session.signedIn);
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);
  return signedIn ? <Shell /> : <AuthScreen />;
}

function Shell() {
  const view = useView();
  const [me, setMe] = useState<Me | null>(null);
  const [teams, setTeams] = useState<Team[] | null>(null);
  const [teamId, setTeamId] = useState<string | null>(() => localStorage.getItem("vc.team"));
  const [unread, setUnread] = useState(0);
  const [live, setLive] = useState<LiveState>("offline");
  const [menuOpen, setMenuOpen] = useState(false);

  const loadTeams = useCallback(async () => {
    const { data } = await api.GET("/api/v1/teams", { params: { query: { limit: 200 } } });
    if (data) setTeams(data.items);
  }, []);
  const loadUnread = useCallback(async () => {
    const { data } = await api.GET("/api/v1/notifications/unread-count");
    if (data) setUnread(data.count);
  }, []);

  const loadMe = useCallback(async () => {
    const { data } = await api.GET("/api/v1/users/me");
    if (data) {
      setMe(data);
      rememberName(data.id, data.username);
    }
  }, []);
  useEffect(() => {
    void loadMe();
    // verified in another tab (the mail's link): the banner goes when this one is looked at again
    const onVisible = () => document.visibilityState === "visible" && void loadMe();
    document.addEventListener("visibilitychange", onVisible);
    window.addEventListener("focus", onVisible);
    // the gateway's /verify-email page says so when it verified the address
    const channel = "BroadcastChannel" in window ? new BroadcastChannel("vc") : null;
    if (channel) channel.onmessage = (e) => e.data?.type === "verified" && void loadMe();
    void loadTeams();
    void loadUnread();
    const off = onLiveState(setLive);
    startLive();
    const active = () => liveActivity();
    window.addEventListener("keydown", active);
    window.addEventListener("pointerdown", active);
    return () => {
      channel?.close();
      document.removeEventListener("visibilitychange", onVisible);
      window.removeEventListener("focus", onVisible);
      off();
      stopLive();
      window.removeEventListener("keydown", active);
      window.removeEventListener("pointerdown", active);
    };
  }, [loadMe, loadTeams, loadUnread]);

  useLive(
    (f) => {
      const e = eventData(f);
      if (!e) return;
      if (e.type.startsWith("notifications.")) void loadUnread();
      if (e.type.startsWith("teams.")) void loadTeams();
      if (e.type.startsWith("identity.")) void loadMe();
    },
    () => {
      void loadTeams();
      void loadUnread();
    },
  );

  const team = teams?.find((t) => t.id === teamId) ?? teams?.[0] ?? null;
  useEffect(() => {
    if (team) localStorage.setItem("vc.team", team.id);
  }, [team]);

  if (!me || !teams) return <p className="loading" role="status">Loading your office…</p>;
  if (!team) return <FirstTeam onCreated={(t) => (setTeams([t]), setTeamId(t.id))} me={me} />;

  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="/board" onClick={(e) => (e.preventDefault(), navigate("board"))}>
          VirtualCoworking
        </a>
        <label className="team-switch">
          <span className="sr-only">Team</span>
          <select aria-label="Team" value={team.id} onChange={(e) => setTeamId(e.target.value)}>
            {teams.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <span className={`live live-${live}`} role="status" aria-label={`Live updates: ${live}`} title={`Live: ${live}`} />
        <button
          className="bell"
          aria-label={`Notifications, ${unread} unread`}
          onClick={() => navigate("notifications")}
        >
          <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="currentColor">
            <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z" />
          </svg>
          {unread > 0 && <span className="badge" data-testid="unread-badge">{unread}</span>}
        </button>
        <button className="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          Menu
        </button>
        <span className="whoami" title={me.email}>
          {me.username}
        </span>
        <button className="link" onClick={() => void session.logout()}>
          Sign out
        </button>
      </header>
      {!me.profile.is_verified && <VerifyBanner email={me.email} />}
      <nav id="nav" className={menuOpen ? "open" : ""} aria-label="Sections">
        {VIEWS.map(([v, label]) => (
          <a
            key={v}
            href={`/${v}`}
            aria-current={view === v ? "page" : undefined}
            onClick={(e) => {
              e.preventDefault();
              setMenuOpen(false);
              navigate(v);
            }}
          >
            {label}
            {v === "notifications" && unread > 0 ? ` (${unread})` : ""}
          </a>
        ))}
      </nav>
      <NowStrip team={team} />
      <main>
        {view === "board" && <BoardScreen team={team} me={me} />}
        {view === "chat" && <ChatScreen team={team} me={me} />}
        {view === "focus" && <FocusScreen team={team} />}
        {view === "calendar" && <CalendarScreen team={team} />}
        {view === "meetings" && <MeetingsScreen team={team} me={me} />}
        {view === "files" && <FilesScreen team={team} />}
        {view === "members" && <MembersScreen team={team} me={me} onTeams={loadTeams} onSwitch={setTeamId} />}
        {view === "analytics" && (
          <Suspense fallback={<p role="status">Loading charts…</p>}>
            <AnalyticsScreen team={team} />
          </Suspense>
        )}
        {view === "notifications" && <NotificationsScreen onCount={setUnread} />}
      </main>
    </div>
  );
}

function VerifyBanner({ email }: { email: string }) {
  const [sent, setSent] = useState("");
  return (
    <p className="banner" role="note">
      Verify your e-mail: open the link we sent to {email}.{" "}
      <button
        className="link"
        onClick={async () => {
          const { error } = await api.POST("/api/v1/auth/verify/resend");
          setSent(error ? problemText(error) : "Sent again.");
        }}
      >
        Send it again
      </button>{" "}
      <span aria-live="polite">{sent}</span>
    </p>
  );
}

function FirstTeam({ onCreated, me }: { onCreated: (t: Team) => void; me: Me }) {
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  return (
    <main className="narrow">
      <h1>Welcome, {me.username}</h1>
      <p>You are in no team yet. Start one, or give a team admin your user id to be added:</p>
      <p>
        <code data-testid="my-user-id">{me.id}</code>
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const { data, error } = await api.POST("/api/v1/teams", { body: { name } });
          if (data) onCreated(data);
          else setError(problemText(error));
        }}
      >
        <label>
          Team name
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit">Create team</button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
      <p>
        <button className="link" onClick={() => location.reload()}>
          I was added to a team: reload
        </button>
      </p>
    </main>
  );
}
