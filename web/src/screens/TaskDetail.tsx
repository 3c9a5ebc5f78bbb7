import { useCallback, useEffect, useRef, useState } from "react";
import { api, problemText, type Schemas } from "../api/client";
import { uploadTeamFile } from "../api/files";
import type { Board, Target } from "../board/moves";
import { useNames } from "../util";

type Detail = Schemas["TaskDetail"];

export function TaskDetail({
  taskId,
  team,
  me,
  board,
  onClose,
  onMove,
}: {
  taskId: string;
  team: Schemas["TeamRead"];
  me: Schemas["UserRead"];
  board: Board;
  onClose: () => void;
  onMove: (target: Target) => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [task, setTask] = useState<Detail | null>(null);
  const [comments, setComments] = useState<Schemas["CommentRead"][]>([]);
  const [labels, setLabels] = useState<Schemas["LabelRead"][]>([]);
  const [members, setMembers] = useState<Schemas["MemberRead"][]>([]);
  const [error, setError] = useState("");
  const [subtask, setSubtask] = useState("");
  const [attaching, setAttaching] = useState(false);
  const [comment, setComment] = useState("");
  const [newLabel, setNewLabel] = useState({ name: "", color: "#2f6feb" });

  const path = { params: { path: { task_id: taskId } } };
  // answers can come back out of order: only the latest load applies, and never a task older
  // than the one shown (its `version` grows with every change)
  const loads = useRef(0);
  const load = useCallback(async () => {
    const n = ++loads.current;
    const [t, c, l, m] = await Promise.all([
      api.GET("/api/v1/tasks/{task_id}", { params: { path: { task_id: taskId } } }),
      api.GET("/api/v1/tasks/{task_id}/comments", { params: { path: { task_id: taskId }, query: { limit: 200 } } }),
      api.GET("/api/v1/teams/{team_id}/labels", { params: { path: { team_id: team.id }, query: { limit: 200 } } }),
      api.GET("/api/v1/teams/{team_id}/members", { params: { path: { team_id: team.id }, query: { limit: 200 } } }),
    ]);
    if (n !== loads.current) return;
    const fresh = t.data;
    if (fresh) setTask((cur) => (cur && cur.version > fresh.version ? cur : fresh));
    if (c.data) setComments(c.data.items);
    if (l.data) setLabels(l.data.items);
    if (m.data) setMembers(m.data.items);
  }, [taskId, team.id]);
  useEffect(() => void load(), [load]);
  // a team file's link needs no token: the files service's signed URL, asked for each one
  const [links, setLinks] = useState<Record<string, string>>({});
  const fileIds = (task?.attachments ?? []).map((a) => `${a.id}:${a.file_id ?? ""}`).join(",");
  useEffect(() => {
    for (const pair of fileIds ? fileIds.split(",") : []) {
      const [id, fileId] = pair.split(":");
      if (!fileId) continue;
      void api.GET("/api/v1/files/{file_id}", { params: { path: { file_id: fileId } } }).then(({ data }) => {
        if (data) setLinks((l) => ({ ...l, [id]: data.file_url }));
      });
    }
  }, [fileIds]);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const name = useNames([...members.map((m) => m.user_id), ...comments.map((c) => c.user_id)]);

  async function patch(body: Schemas["TaskUpdate"]) {
    const { data, error } = await api.PATCH("/api/v1/tasks/{task_id}", { ...path, body });
    if (error) setError(problemText(error));
    else if (data) setTask((t) => t && (t.version > data.version ? t : { ...t, ...data }));
  }
  const check = (error: unknown) => (error ? (setError(problemText(error)), false) : (setError(""), true));

  return (
    <dialog ref={ref} className="task-detail" aria-labelledby="task-title" onClose={onClose} onCancel={onClose}>
      {!task ? (
        <p role="status">Loading…</p>
      ) : (
        <div className="detail">
          <div className="detail-head">
            <label className="grow">
              <span className="sr-only">Title</span>
              <input
                id="task-title"
                className="title-input"
                defaultValue={task.title}
                aria-label="Title"
                onBlur={(e) => e.target.value !== task.title && void patch({ title: e.target.value })}
              />
            </label>
            <button aria-label="Close" onClick={() => ref.current?.close()}>
              ✕
            </button>
          </div>
          {error && <p role="alert" className="error">{error}</p>}
          <div className="fields">
            <label>
              Column
              <select
                value={task.column_id}
                onChange={(e) => {
                  const col = board.columns.find((c) => c.id === e.target.value)!;
                  onMove({ columnId: col.id, position: col.tasks.length });
                  setTask({ ...task, column_id: col.id });
                }}
              >
                {board.columns.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Priority
              <select value={task.priority} onChange={(e) => void patch({ priority: e.target.value as Detail["priority"] })}>
                {["low", "medium", "high", "urgent"].map((p) => (
                  <option key={p}>{p}</option>
                ))}
              </select>
            </label>
            <label>
              Assignee
              <select value={task.assignee_id ?? ""} onChange={(e) => void patch({ assignee_id: e.target.value || null })}>
                <option value="">nobody</option>
                {members.map((m) => (
                  <option key={m.user_id} value={m.user_id}>
                    {name(m.user_id)}
                    {m.user_id === me.id ? " (me)" : ""}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Due
              <input type="date" value={task.due_date ?? ""} onChange={(e) => void patch({ due_date: e.target.value || null })} />
            </label>
          </div>
          <label>
            Description
            <textarea
              rows={3}
              defaultValue={task.description}
              onBlur={(e) => e.target.value !== task.description && void patch({ description: e.target.value })}
            />
          </label>

          <fieldset>
            <legend>Labels</legend>
            {labels.map((l) => {
              const on = task.labels.some((x) => x.id === l.id);
              return (
                <label key={l.id} className="check">
                  <input
                    type="checkbox"
                    checked={on}
                    onChange={async () => {
                      const next = on ? task.labels.filter((x) => x.id !== l.id) : [...task.labels, l];
                      setTask({ ...task, labels: next }); // shown at once, put back if refused
                      const { data, error } = await api.PUT("/api/v1/tasks/{task_id}/labels", {
                        ...path,
                        body: { label_ids: next.map((x) => x.id) },
                      });
                      if (check(error) && data) setTask((t) => t && { ...t, labels: data.labels });
                      else setTask((t) => t && { ...t, labels: task.labels });
                    }}
                  />
                  <span className="label" style={{ background: l.color }}>
                    {l.name}
                  </span>
                </label>
              );
            })}
            <form
              className="inline"
              onSubmit={async (e) => {
                e.preventDefault();
                const { error } = await api.POST("/api/v1/teams/{team_id}/labels", {
                  params: { path: { team_id: team.id } },
                  body: newLabel,
                });
                if (check(error)) {
                  setNewLabel({ ...newLabel, name: "" });
                  void load();
                }
              }}
            >
              <input aria-label="New label name" placeholder="New label" required value={newLabel.name} onChange={(e) => setNewLabel({ ...newLabel, name: e.target.value })} />
              <input aria-label="New label colour" type="color" value={newLabel.color} onChange={(e) => setNewLabel({ ...newLabel, color: e.target.value })} />
              <button type="submit">Add label</button>
            </form>
          </fieldset>

          <fieldset>
            <legend>
              Subtasks ({task.subtasks.filter((s) => s.is_completed).length}/{task.subtasks.length})
            </legend>
            <ul className="plain">
              {task.subtasks.map((s) => (
                <li key={s.id}>
                  <label className="check">
                    <input
                      type="checkbox"
                      checked={s.is_completed}
                      onChange={async () => {
                        const { error } = await api.PATCH("/api/v1/subtasks/{subtask_id}", {
                          params: { path: { subtask_id: s.id } },
                          body: { is_completed: !s.is_completed },
                        });
                        if (check(error)) void load();
                      }}
                    />
                    {s.title}
                  </label>
                </li>
              ))}
            </ul>
            <form
              className="inline"
              onSubmit={async (e) => {
                e.preventDefault();
                const { error } = await api.POST("/api/v1/tasks/{task_id}/subtasks", { ...path, body: { title: subtask } });
                if (check(error)) {
                  setSubtask("");
                  void load();
                }
              }}
            >
              <input aria-label="New subtask" placeholder="Add a subtask" required value={subtask} onChange={(e) => setSubtask(e.target.value)} />
              <button type="submit">Add subtask</button>
            </form>
          </fieldset>

          <fieldset>
            <legend>Attachments</legend>
            <ul className="plain attachments">
              {task.attachments.map((a) => (
                <li key={a.id}>
                  <a href={links[a.id] ?? a.file_url} target="_blank" rel="noreferrer">
                    {a.filename}
                  </a>{" "}
                  <button
                    type="button"
                    className="link"
                    aria-label={`Remove attachment ${a.filename}`}
                    onClick={async () => {
                      const { error } = await api.DELETE("/api/v1/tasks/{task_id}/attachments/{attachment_id}", {
                        params: { path: { task_id: taskId, attachment_id: a.id } },
                      });
                      if (check(error)) void load();
                    }}
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
            <label className="upload">
              Attach a file
              <input
                type="file"
                disabled={attaching}
                onChange={async (e) => {
                  const file = e.target.files?.[0];
                  e.target.value = "";
                  if (!file) return;
                  setAttaching(true);
                  // into the team's files first, then onto the task (one stored copy)
                  const up = await uploadTeamFile(team.id, file);
                  const { error } = up.file
                    ? await api.POST("/api/v1/tasks/{task_id}/attachments", { ...path, body: { file_id: up.file.id } })
                    : { error: null };
                  setAttaching(false);
                  if (up.error) return setError(up.error);
                  if (check(error)) void load();
                }}
              />
            </label>
          </fieldset>

          <section aria-label="Comments">
            <h3>Comments</h3>
            <ul className="plain comments">
              {comments.map((c) => (
                <li key={c.id}>
                  <strong>{name(c.user_id)}</strong> <span className="muted">{new Date(c.created_at).toLocaleString()}</span>
                  <p>{c.content}</p>
                </li>
              ))}
            </ul>
            <form
              onSubmit={async (e) => {
                e.preventDefault();
                const { error } = await api.POST("/api/v1/tasks/{task_id}/comments", { ...path, body: { content: comment } });
                if (check(error)) {
                  setComment("");
                  void load();
                }
              }}
            >
              <label>
                Comment
                <textarea rows={2} required value={comment} onChange={(e) => setComment(e.target.value)} />
              </label>
              <button type="submit">Post comment</button>
            </form>
          </section>
          <p>
            <button
              className="danger"
              onClick={async () => {
                if (!confirm(`Delete "${task.title}"?`)) return;
                const { error } = await api.DELETE("/api/v1/tasks/{task_id}", path);
                if (check(error)) ref.current?.close();
              }}
            >
              Delete task
            </button>
          </p>
        </div>
      )}
    </dialog>
  );
}
