import { describe, expect, it } from "vitest";
import { applyMove, type Board, keyboardTarget, moveOptimistic, type MoveResult, type Task } from "./moves";

function task(id: string, column_id: string, position: number): Task {
  return {
    id, title: id, description: "", column_id, board_id: "b", team_id: "t", assignee_id: null, priority: "medium",
    due_date: null, position, is_completed: false, completed_at: null, version: 1, created_by_id: "u",
    created_at: "", updated_at: "", labels: [], subtask_count: 0, subtasks_completed: 0,
  };
}

function board(): Board {
  const col = (id: string, ids: string[], is_done = false) => ({
    id, name: id, board_id: "b", order: 0, is_done, created_at: "", tasks: ids.map((t, i) => task(t, id, i)),
  });
  return {
    id: "b", name: "B", team_id: "t", created_by_id: "u", created_at: "", updated_at: "",
    columns: [col("todo", ["a", "b", "c"]), col("doing", ["d"]), col("done", [], true)],
  };
}

const ids = (b: Board) => b.columns.map((c) => c.tasks.map((t) => `${t.id}${t.position}`).join(","));

describe("applyMove", () => {
  it("moves across columns and renumbers both", () => {
    const b = applyMove(board(), "a", { columnId: "doing", position: 1 });
    expect(ids(b)).toEqual(["b0,c1", "d0,a1", ""]);
    expect(b.columns[1].tasks[1].column_id).toBe("doing");
  });
  it("moves within a column (position is the index after the move)", () => {
    expect(ids(applyMove(board(), "a", { columnId: "todo", position: 2 }))).toEqual(["b0,c1,a2", "d0", ""]);
  });
  it("never changes the board it was given, and keeps the cards that did not move", () => {
    const before = board();
    const after = applyMove(before, "a", { columnId: "todo", position: 2 });
    expect(ids(before)).toEqual(["a0,b1,c2", "d0", ""]);
    expect(after.columns[1].tasks[0]).toBe(before.columns[1].tasks[0]);
    expect(after.columns[0].tasks[0]).not.toBe(before.columns[0].tasks[1]); // b: position 1 -> 0
  });
  it("completes a task that enters a done column, and leaves the old board as it was", () => {
    const before = board();
    const after = applyMove(before, "d", { columnId: "done", position: 9 });
    expect(after.columns[2].tasks[0]).toMatchObject({ id: "d", position: 0, is_completed: true });
    expect(ids(before)).toEqual(["a0,b1,c2", "d0", ""]);
  });
});

describe("keyboardTarget", () => {
  it("goes up, down, left and right, and nowhere past the edges", () => {
    const b = board();
    expect(keyboardTarget(b, "b", "up")).toEqual({ columnId: "todo", position: 0 });
    expect(keyboardTarget(b, "b", "down")).toEqual({ columnId: "todo", position: 2 });
    expect(keyboardTarget(b, "c", "right")).toEqual({ columnId: "doing", position: 1 });
    expect(keyboardTarget(b, "d", "left")).toEqual({ columnId: "todo", position: 0 });
    expect(keyboardTarget(b, "a", "up")).toBeNull();
    expect(keyboardTarget(b, "a", "left")).toBeNull();
    expect(keyboardTarget(b, "c", "down")).toBeNull();
  });
});

function store(initial: Board) {
  let state = initial;
  const seen: Board[] = [];
  return {
    get: () => state,
    set: (b: Board) => {
      state = b;
      seen.push(b);
    },
    seen,
  };
}

describe("moveOptimistic", () => {
  it("shows the move before the server answers, and keeps it when accepted", async () => {
    const s = store(board());
    let shownWhileSending = "";
    const outcome = await moveOptimistic(
      {
        ...s,
        send: async (id, t): Promise<MoveResult> => {
          shownWhileSending = ids(s.get()).join("|");
          return { ok: true, status: 200, task: { ...task(id, t.columnId, t.position), version: 2 } };
        },
      },
      "a",
      { columnId: "doing", position: 0 },
    );
    expect(outcome).toBe("moved");
    expect(shownWhileSending).toBe("b0,c1|a0,d1|");
    expect(s.get().columns[1].tasks[0].version).toBe(2);
  });

  it("rolls the board back on 409", async () => {
    const initial = board();
    const s = store(initial);
    const outcome = await moveOptimistic({ ...s, send: async () => ({ ok: false, status: 409 }) }, "a", { columnId: "done", position: 0 });
    expect(outcome).toBe("conflict");
    expect(s.get()).toBe(initial);
    expect(s.seen.length).toBe(2); // shown, then rolled back
  });

  it("rolls back when the network fails", async () => {
    const initial = board();
    const s = store(initial);
    const outcome = await moveOptimistic(
      { ...s, send: async () => Promise.reject(new TypeError("fetch failed")) },
      "b",
      { columnId: "todo", position: 0 },
    );
    expect(outcome).toBe("failed");
    expect(s.get()).toBe(initial);
  });

  it("keeps a newer live state that arrived while the refused move was in flight", async () => {
    const s = store(board());
    const fresh = applyMove(board(), "c", { columnId: "done", position: 0 });
    const outcome = await moveOptimistic(
      {
        ...s,
        send: async () => {
          s.set(fresh); // a live update reloaded the board meanwhile
          return { ok: false, status: 409 };
        },
      },
      "a",
      { columnId: "doing", position: 0 },
    );
    expect(outcome).toBe("conflict");
    expect(s.get()).toBe(fresh);
  });

  it("sends nothing for a move to where the task already is", async () => {
    const s = store(board());
    let sent = 0;
    const outcome = await moveOptimistic({ ...s, send: async () => (sent++, { ok: true, status: 200 }) }, "b", { columnId: "todo", position: 1 });
    expect(outcome).toBe("unchanged");
    expect(sent).toBe(0);
  });
});
