import {
  DndContext,
  type DragEndEvent,
  DragOverlay,
  type DragStartEvent,
  PointerSensor,
  TouchSensor,
  useDraggable,
  useDroppable,
  useSensor,
  useSensors,
} from "@dnd-kit/core";
import { memo, useCallback, useEffect, useRef, useState } from "react";
import { api, problemText, type Schemas } from "../api/client";
import { type Board, type Direction, findTask, keyboardTarget, moveOptimistic, type Target, type Task } from "../board/moves";
import { eventData, useLive } from "../live/bus";
import { useDebounced, useNames } from "../util";
import { TaskDetail } from "./TaskDetail";

type Team = Schemas["TeamRead"];
const KEYS: Record<string, Direction> = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down" };

export function BoardScreen({ team, me }: { team: Team; me: Schemas["UserRead"] }) {
  const [boards, setBoards] = useState<Schemas["BoardRead"][] | null>(null);
  const [boardId, setBoardId] = useState<string | null>(null);
  const [error, setError] = useState("");

  const loadBoards = useCallback(async () => {
    const { data } = await api.GET("/api/v1/teams/{team_id}/boards", {
      params: { path: { team_id: team.id }, query: { limit: 200 } },
    });
    if (data) {
      setBoards(data.items);
      setBoardId((id) => (data.items.some((b) => b.id === id) ? id : (data.items[0]?.id ?? null)));
    }
  }, [team.id]);
  useEffect(() => void loadBoards(), [loadBoards]);
  useLive((f) => {
    const e = eventData(f);
    if (e && e.type.startsWith("tasks.board.") && e.data.team_id === team.id) void loadBoards();
  }, loadBoards);

  async function createBoard(name: string) {
    const { data, error } = await api.POST("/api/v1/teams/{team_id}/boards", {
      params: { path: { team_id: team.id } },
      body: { name },
    });
    if (error) return setError(problemText(error));
    await loadBoards();
    setBoardId(data!.id);
  }

  if (!boards) return <p role="status">Loading boards…</p>;
  return (
    <section aria-labelledby="board-title">
      <div className="toolbar">
        <h1 id="board-title">Board</h1>
        {boards.length > 0 && (
          <label>
            <span className="sr-only">Board</span>
            <select aria-label="Board" value={boardId ?? ""} onChange={(e) => setBoardId(e.target.value)}>
              {boards.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <NewBoard key={boards.length ? "more" : "first"} onCreate={createBoard} first={boards.length === 0} />
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {boardId ? <BoardView key={boardId} boardId={boardId} team={team} me={me} /> : <p>No board yet: create the team's first one.</p>}
    </section>
  );
}

function NewBoard({ onCreate, first }: { onCreate: (name: string) => void; first: boolean }) {
  const [name, setName] = useState(first ? "Team board" : "");
  return (
    <form className="inline" onSubmit={(e) => (e.preventDefault(), name && onCreate(name), setName(""))}>
      <label>
        <span className="sr-only">New board name</span>
        <input placeholder="New board" aria-label="New board name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <button type="submit">Create board</button>
    </form>
  );
}

function BoardView({ boardId, team, me }: { boardId: string; team: Team; me: Schemas["UserRead"] }) {
  const [board, setBoardState] = useState<Board | null>(null);
  const boardRef = useRef<Board | null>(null);
  const setBoard = (b: Board) => {
    boardRef.current = b;
    setBoardState(b);
  };
  const [open, setOpen] = useState<string | null>(null);
  const [dragging, setDragging] = useState<Task | null>(null);
  const [announce, setAnnounce] = useState("");
  const focusAfter = useRef<string | null>(null);

  const load = useCallback(async () => {
    const { data } = await api.GET("/api/v1/boards/{board_id}", { params: { path: { board_id: boardId } } });
    if (data) setBoard(data);
  }, [boardId]);
  useEffect(() => void load(), [load]);
  const reload = useDebounced(() => void load(), 120);
  useLive((f) => {
    const e = eventData(f);
    if (e && e.type.startsWith("tasks.") && (e.data.board_id === boardId || e.type === "tasks.comment.added")) reload();
  }, reload);

  useEffect(() => {
    if (focusAfter.current) {
      document.querySelector<HTMLElement>(`[data-task-id="${focusAfter.current}"]`)?.focus();
      focusAfter.current = null;
    }
  });

  const names = useNames((board?.columns ?? []).flatMap((c) => c.tasks.map((t) => t.assignee_id)));

  async function move(taskId: string, target: Target) {
    const task = board && findTask(board, taskId);
    const title = task ? board!.columns[task.col].tasks[task.index].title : "task";
    const column = board?.columns.find((c) => c.id === target.columnId)?.name ?? "";
    const outcome = await moveOptimistic(
      {
        get: () => boardRef.current!,
        set: setBoard,
        send: async (id, t) => {
          const { data, response } = await api.POST("/api/v1/tasks/{task_id}/move", {
            params: { path: { task_id: id } },
            body: { column_id: t.columnId, position: t.position },
          });
          return { ok: response.ok, status: response.status, task: data };
        },
      },
      taskId,
      target,
    );
    if (outcome === "moved") setAnnounce(`Moved ${title} to ${column}, position ${target.position + 1}.`);
    if (outcome === "conflict") {
      setAnnounce(`${title} was moved by someone else meanwhile; the board is up to date again.`);
      void load();
    }
    if (outcome === "failed") setAnnounce(`Could not move ${title}; it is back where it was.`);
  }

  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 6 } }),
    useSensor(TouchSensor, { activationConstraint: { delay: 200, tolerance: 8 } }),
  );

  function onDragStart(e: DragStartEvent) {
    const at = board && findTask(board, String(e.active.id));
    setDragging(at ? board!.columns[at.col].tasks[at.index] : null);
  }

  function onDragEnd(e: DragEndEvent) {
    setDragging(null);
    if (!board || !e.over) return;
    const taskId = String(e.active.id);
    const over = String(e.over.id);
    const from = findTask(board, taskId)!;
    if (over.startsWith("col:")) {
      const colId = over.slice(4);
      const col = board.columns.find((c) => c.id === colId)!;
      const sameCol = board.columns[from.col].id === colId;
      void move(taskId, { columnId: colId, position: col.tasks.length - (sameCol ? 1 : 0) });
    } else if (over !== taskId) {
      const at = findTask(board, over);
      if (at) void move(taskId, { columnId: board.columns[at.col].id, position: at.index });
    }
  }

  function onKey(e: React.KeyboardEvent, task: Task) {
    if (!board) return;
    if (e.key === "Enter") {
      e.preventDefault();
      setOpen(task.id);
      return;
    }
    const dir = KEYS[e.key];
    if (!dir) return;
    e.preventDefault();
    if (e.shiftKey || e.altKey) {
      const target = keyboardTarget(board, task.id, dir);
      if (target) {
        focusAfter.current = task.id;
        void move(task.id, target);
      }
      return;
    }
    // plain arrows move the focus between cards
    const at = findTask(board, task.id)!;
    let col = at.col;
    let idx = at.index;
    if (dir === "up") idx -= 1;
    if (dir === "down") idx += 1;
    if (dir === "left" || dir === "right") {
      col += dir === "left" ? -1 : 1;
      while (board.columns[col] && board.columns[col].tasks.length === 0) col += dir === "left" ? -1 : 1;
      if (!board.columns[col]) return;
      idx = Math.min(idx, board.columns[col].tasks.length - 1);
    }
    const next = board.columns[col]?.tasks[idx];
    if (next) document.querySelector<HTMLElement>(`[data-task-id="${next.id}"]`)?.focus();
  }

  // stable for the memoised cards: a move re-renders the two columns it touches, not 500 cards
  const onKeyRef = useRef(onKey);
  onKeyRef.current = onKey;
  const stableKey = useCallback((e: React.KeyboardEvent, t: Task) => onKeyRef.current(e, t), []);

  if (!board) return <p role="status">Loading the board…</p>;
  return (
    <>
      <p className="hint" id="board-help">
        Drag a card, or focus it and press Shift + arrow keys to move it; arrows move between cards, Enter opens one.
      </p>
      <div aria-live="assertive" className="sr-only" data-testid="board-announce">
        {announce}
      </div>
      <DndContext sensors={sensors} onDragStart={onDragStart} onDragEnd={onDragEnd} onDragCancel={() => setDragging(null)}>
        <div className="board" data-testid="board">
          {board.columns.map((col) => (
            <Column key={col.id} col={col} boardId={board.id} onAdded={load}>
              {col.tasks.map((t) => (
                <Card key={t.id} task={t} assignee={t.assignee_id ? names(t.assignee_id) : null} onOpen={setOpen} onKey={stableKey} />
              ))}
            </Column>
          ))}
        </div>
        <DragOverlay>{dragging && <CardFace task={dragging} assignee={null} />}</DragOverlay>
      </DndContext>
      {open && (
        <TaskDetail
          taskId={open}
          team={team}
          me={me}
          board={board}
          onClose={() => {
            const id = open;
            setOpen(null);
            void load();
            setTimeout(() => document.querySelector<HTMLElement>(`[data-task-id="${id}"]`)?.focus());
          }}
          onMove={(target) => void move(open, target)}
        />
      )}
    </>
  );
}

function Column({
  col,
  boardId,
  onAdded,
  children,
}: {
  col: Board["columns"][number];
  boardId: string;
  onAdded: () => void;
  children: React.ReactNode;
}) {
  const { setNodeRef, isOver } = useDroppable({ id: `col:${col.id}` });
  const [title, setTitle] = useState("");
  const [error, setError] = useState("");
  const headingId = `col-${col.id}`;
  return (
    <section ref={setNodeRef} className={`column${isOver ? " over" : ""}`} aria-labelledby={headingId} data-column-name={col.name} data-board={boardId}>
      <h2 id={headingId}>
        {col.name} <span className="count">{col.tasks.length}</span>
      </h2>
      <ul className="cards" aria-describedby="board-help">
        {children}
      </ul>
      <form
        className="add-task"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!title.trim()) return;
          const { error } = await api.POST("/api/v1/columns/{column_id}/tasks", {
            params: { path: { column_id: col.id } },
            body: { title: title.trim() },
          });
          if (error) return setError(problemText(error));
          setTitle("");
          setError("");
          onAdded();
        }}
      >
        <label>
          <span className="sr-only">New task in {col.name}</span>
          <input placeholder="Add a task" aria-label={`New task in ${col.name}`} value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <button type="submit" aria-label={`Add task to ${col.name}`}>
          +
        </button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </section>
  );
}

const Card = memo(function Card({
  task,
  assignee,
  onOpen,
  onKey,
}: {
  task: Task;
  assignee: string | null;
  onOpen: (id: string) => void;
  onKey: (e: React.KeyboardEvent, t: Task) => void;
}) {
  const drag = useDraggable({ id: task.id });
  const drop = useDroppable({ id: task.id });
  return (
    <li
      ref={(el) => {
        drag.setNodeRef(el);
        drop.setNodeRef(el);
      }}
      {...drag.listeners}
      tabIndex={0}
      role="button"
      aria-roledescription="task card"
      aria-label={`${task.title}, ${task.priority} priority${assignee ? `, assigned to ${assignee}` : ""}`}
      data-task-id={task.id}
      className={`card${drag.isDragging ? " dragging" : ""}${drop.isOver ? " over" : ""}`}
      onClick={() => onOpen(task.id)}
      onKeyDown={(e) => onKey(e, task)}
    >
      <CardFace task={task} assignee={assignee} />
    </li>
  );
});

function CardFace({ task, assignee }: { task: Task; assignee: string | null }) {
  return (
    <div className="card-face">
      <span className="title">{task.title}</span>
      <span className="meta">
        <span className={`prio prio-${task.priority}`}>{task.priority}</span>
        {task.labels.map((l) => (
          <span key={l.id} className="label" style={{ background: l.color }}>
            {l.name}
          </span>
        ))}
        {task.subtask_count > 0 && (
          <span className="subs" aria-label={`${task.subtasks_completed} of ${task.subtask_count} subtasks done`}>
            ☑ {task.subtasks_completed}/{task.subtask_count}
          </span>
        )}
        {assignee && <span className="assignee">@{assignee}</span>}
        {task.due_date && <span className="due">due {task.due_date}</span>}
      </span>
    </div>
  );
}
