import { useCallback, useEffect, useState } from "react";
import { api, problemText, type Schemas } from "../api/client";
import { useNames } from "../util";

const RANK = { member: 0, admin: 1, owner: 2 } as const;

export function MembersScreen({
  team,
  me,
  onTeams,
  onSwitch,
}: {
  team: Schemas["TeamRead"];
  me: Schemas["UserRead"];
  onTeams: () => Promise<void>;
  onSwitch: (id: string) => void;
}) {
  const [members, setMembers] = useState<Schemas["MemberRead"][]>([]);
  const [add, setAdd] = useState({ user_id: "", role: "member" as Schemas["MemberCreate"]["role"] });
  const [teamName, setTeamName] = useState("");
  const [error, setError] = useState("");
  const load = useCallback(async () => {
    const { data } = await api.GET("/api/v1/teams/{team_id}/members", { params: { path: { team_id: team.id }, query: { limit: 200 } } });
    if (data) setMembers(data.items);
  }, [team.id]);
  useEffect(() => void load(), [load]);
  const name = useNames(members.map((m) => m.user_id));
  const admin = RANK[team.my_role] >= 1;
  const fail = (e: unknown) => (e ? (setError(problemText(e)), true) : (setError(""), false));

  return (
    <section aria-labelledby="m-title">
      <h1 id="m-title">{team.name}: members</h1>
      <p className="muted">
        You are {team.my_role}. Your user id (give it to an admin of another team): <code data-testid="my-user-id">{me.id}</code>
      </p>
      {error && <p role="alert" className="error">{error}</p>}
      <table className="members">
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Role</th>
            <th scope="col">Joined</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.user_id}>
              <td>{name(m.user_id)}</td>
              <td>
                {admin && m.role !== "owner" ? (
                  <select
                    aria-label={`Role of ${name(m.user_id)}`}
                    value={m.role}
                    onChange={async (e) => {
                      const { error } = await api.PATCH("/api/v1/teams/{team_id}/members/{user_id}", {
                        params: { path: { team_id: team.id, user_id: m.user_id } },
                        body: { role: e.target.value as Schemas["MemberUpdate"]["role"] },
                      });
                      if (!fail(error)) void load();
                    }}
                  >
                    <option>member</option>
                    <option>admin</option>
                  </select>
                ) : (
                  m.role
                )}
              </td>
              <td>{new Date(m.joined_at).toLocaleDateString()}</td>
              <td>
                {(m.user_id === me.id || (admin && m.role !== "owner")) && (
                  <button
                    className="link"
                    onClick={async () => {
                      const { error } = await api.DELETE("/api/v1/teams/{team_id}/members/{user_id}", {
                        params: { path: { team_id: team.id, user_id: m.user_id } },
                      });
                      if (!fail(error)) m.user_id === me.id ? void onTeams() : void load();
                    }}
                  >
                    {m.user_id === me.id ? "Leave" : "Remove"}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {admin && (
        <form
          className="inline"
          aria-label="Add a member"
          onSubmit={async (e) => {
            e.preventDefault();
            const { error } = await api.POST("/api/v1/teams/{team_id}/members", {
              params: { path: { team_id: team.id } },
              body: { user_id: add.user_id.trim(), role: add.role },
            });
            if (!fail(error)) {
              setAdd({ ...add, user_id: "" });
              void load();
            }
          }}
        >
          <label>
            User id
            <input required value={add.user_id} onChange={(e) => setAdd({ ...add, user_id: e.target.value })} />
          </label>
          <label>
            Role
            <select value={add.role} onChange={(e) => setAdd({ ...add, role: e.target.value as typeof add.role })}>
              <option>member</option>
              <option>admin</option>
            </select>
          </label>
          <button type="submit">Add member</button>
        </form>
      )}
      <h2>Another team</h2>
      <form
        className="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          const { data, error } = await api.POST("/api/v1/teams", { body: { name: teamName } });
          if (!fail(error) && data) {
            setTeamName("");
            await onTeams();
            onSwitch(data.id);
          }
        }}
      >
        <label>
          Team name
          <input required value={teamName} onChange={(e) => setTeamName(e.target.value)} />
        </label>
        <button type="submit">Create team</button>
      </form>
    </section>
  );
}
