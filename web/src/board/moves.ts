// Moving tasks on the board: the pure state change, the keyboard's targets, and the optimistic
// move (shown at once, sent, rolled back when the server refuses it, e.g. 409 "keeps moving").
import type { Schemas } from "../api/client";

export type Board = Schemas["BoardDetail"];
export type Task = Schemas["TaskRead"];

export interface Target {
  columnId: string;
  position: number;
}

export function findTask(board: Board, taskId: string): { col: number; index: number } | null {
  for (let col = 0; col < board.columns.length; col++) {
    const index = board.columns[col].tasks.findIndex((t) => t.id === taskId);
    if (index >= 0) return { col, index };
  }
  return null;
}

/** The board after moving a task to `position` (its index after the move) in a column. */
export function applyMove(board: Board, taskId: string, target: Target): Board {
  const from = findTask(board, taskId);
  const to = board.columns.findIndex((c) => c.id === target.columnId);
  if (!from || to < 0) return board;
  const task = board.columns[from.col].tasks[from.index];
  const columns = board.columns.map((c) => ({ ...c, tasks: c.tasks.slice() }));
  columns[from.col].tasks.splice(from.index, 1);
  const dest = columns[to];
  const position = Math.max(0, Math.min(target.position, dest.tasks.length));
  dest.tasks.splice(position, 0, {
    ...task,
    column_id: dest.id,
    is_completed: dest.is_done,
  });
  // new objects only where something changed: the old board stays as it was (it is the
  // rollback), and the cards that did not move keep their identity (memoised, not re-rendered)
  for (const c of [columns[from.col], dest]) c.tasks = c.tasks.map((t, i) => (t.position === i ? t : { ...t, position: i }));
  return { ...board, columns };
}

export type Direction = "left" | "right" | "up" | "down";

/** Where a keyboard move sends a task: a column over keeps its row when it can. */
export function keyboardTarget(board: Board, taskId: string, dir: Direction): Target | null {
  const at = findTask(board, taskId);
  if (!at) return null;
  const cols = board.columns;
  if (dir === "up" || dir === "down") {
    const position = at.index + (dir === "up" ? -1 : 1);
    if (position < 0 || position >= cols[at.col].tasks.length) return null;
    return { columnId: cols[at.col].id, position };
  }
  const col = at.col + (dir === "left" ? -1 : 1);
  if (col < 0 || col >= cols.length) return null;
  return { columnId: cols[col].id, position: Math.min(at.index, cols[col].tasks.length) };
}

export interface MoveResult {
  ok: boolean;
  status: number;
  task?: Task;
}

export interface MoveDeps {
  get: () => Board;
  set: (board: Board) => void;
  send: (taskId: string, target: Target) => Promise<MoveResult>;
}

export type Outcome = "moved" | "unchanged" | "conflict" | "failed";

/**
 * Show the move at once, then send it. Refused (409 or anything else): the board goes back to
 * what it was before this move, unless a newer state replaced it meanwhile (a live update): that
 * one is newer than both and is kept.
 */
export async function moveOptimistic(deps: MoveDeps, taskId: string, target: Target): Promise<Outcome> {
  const before = deps.get();
  const at = findTask(before, taskId);
  if (!at) return "failed";
  const here = before.columns[at.col];
  if (here.id === target.columnId && at.index === target.position) return "unchanged";
  const shown = applyMove(before, taskId, target);
  deps.set(shown);
  let result: MoveResult;
  try {
    result = await deps.send(taskId, target);
  } catch {
    result = { ok: false, status: 0 };
  }
  if (result.ok) {
    if (result.task && deps.get() === shown) {
      const t = result.task;
      const now = deps.get();
      deps.set({
        ...now,
        columns: now.columns.map((c) => ({
          ...c,
          tasks: c.tasks.map((x) => (x.id === t.id ? { ...x, ...t } : x)),
        })),
      });
    }
    return "moved";
  }
  if (deps.get() === shown) deps.set(before);
  return result.status === 409 ? "conflict" : "failed";
}
