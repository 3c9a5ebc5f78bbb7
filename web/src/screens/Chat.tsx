import { useCallback, useEffect, useRef, useState } from "react";
import { api, problemText, type Schemas } from "../api/client";
import { eventData, useLive } from "../live/bus";
import { timeOf, useNames, uuid } from "../util";

type Message = Schemas["MessageRead"];

export function ChatScreen({ team, me }: { team: Schemas["TeamRead"]; me: Schemas["UserRead"] }) {
  const [rooms, setRooms] = useState<Schemas["RoomRead"][] | null>(null);
  const [roomId, setRoomId] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const load = useCallback(async () => {
    const { data } = await api.GET("/api/v1/teams/{team_id}/rooms", { params: { path: { team_id: team.id }, query: { limit: 200 } } });
    if (data) {
      setRooms(data.items);
      setRoomId((id) => (data.items.some((r) => r.id === id) ? id : (data.items[0]?.id ?? null)));
    }
  }, [team.id]);
  useEffect(() => void load(), [load]);
  useLive((f) => {
    const e = eventData(f);
    if (e && e.type.startsWith("chat.room.") && e.data.team_id === team.id) void load();
  }, load);

  return (
    <section className="chat" aria-labelledby="chat-title">
      <div className="rooms">
        <h1 id="chat-title">Chat</h1>
        <ul className="plain" aria-label="Rooms">
          {rooms?.map((r) => (
            <li key={r.id}>
              <button className={`room${r.id === roomId ? " current" : ""}`} aria-current={r.id === roomId} onClick={() => setRoomId(r.id)}>
                # {r.name}
              </button>
            </li>
          ))}
        </ul>
        <form
          className="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            const { data, error } = await api.POST("/api/v1/teams/{team_id}/rooms", { params: { path: { team_id: team.id } }, body: { name } });
            if (error) return setError(problemText(error));
            setName("");
            await load();
            setRoomId(data!.id);
          }}
        >
          <input aria-label="New room name" placeholder="New room" required value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit">Create room</button>
        </form>
        {error && <p role="alert" className="error">{error}</p>}
      </div>
      {roomId ? <Room key={roomId} roomId={roomId} me={me} /> : <p>No room yet: create one.</p>}
    </section>
  );
}

function Room({ roomId, me }: { roomId: string; me: Schemas["UserRead"] }) {
  const [messages, setMessages] = useState<Message[]>([]);
  const [more, setMore] = useState(false);
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const list = useRef<HTMLOListElement>(null);
  const add = (ms: Message[]) =>
    setMessages((old) => {
      const seen = new Set(old.map((m) => m.id));
      return [...old, ...ms.filter((m) => !seen.has(m.id))].sort((a, b) => (a.id < b.id ? -1 : 1));
    });

  const load = useCallback(async () => {
    const { data } = await api.GET("/api/v1/rooms/{room_id}/messages", { params: { path: { room_id: roomId }, query: { limit: 50 } } });
    if (data) {
      add(data.items);
      setMore(data.items.length === 50);
    }
  }, [roomId]);
  useEffect(() => void load(), [load]);
  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: "end" });
  }, [messages.length]);

  useLive((f) => {
    const e = eventData(f);
    if (e?.type === "chat.message.posted" && e.data.room_id === roomId) {
      void api
        .GET("/api/v1/messages/{message_id}", { params: { path: { message_id: String(e.data.message_id) } } })
        .then(({ data }) => data && add([data]));
    }
  }, load);

  const name = useNames(messages.map((m) => m.user_id));
  return (
    <div className="room-view">
      {more && (
        <button
          className="link"
          onClick={async () => {
            const { data } = await api.GET("/api/v1/rooms/{room_id}/messages", {
              params: { path: { room_id: roomId }, query: { limit: 50, before: messages[0]?.id } },
            });
            if (data) {
              add(data.items);
              setMore(data.items.length === 50);
            }
          }}
        >
          Older messages
        </button>
      )}
      <ol className="messages" ref={list} aria-label="Messages" aria-live="polite" data-testid="messages">
        {messages
          .filter((m) => !m.deleted_at)
          .map((m) => (
            <li key={m.id} className={m.user_id === me.id ? "mine" : ""}>
              <span className="from">{name(m.user_id)}</span> <time dateTime={m.timestamp}>{timeOf(m.timestamp)}</time>
              <p>{m.content}</p>
            </li>
          ))}
      </ol>
      <form
        className="compose"
        onSubmit={async (e) => {
          e.preventDefault();
          const content = text.trim();
          if (!content) return;
          const { data, error } = await api.POST("/api/v1/rooms/{room_id}/messages", {
            params: { path: { room_id: roomId } },
            body: { content },
            headers: { "Idempotency-Key": uuid() },
          });
          if (error) return setError(problemText(error));
          setText("");
          setError("");
          add([data!]);
        }}
      >
        <label className="grow">
          <span className="sr-only">Message</span>
          <input aria-label="Message" placeholder="Write a message" maxLength={4000} value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <button type="submit">Send</button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </div>
  );
}
