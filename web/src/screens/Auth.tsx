import { useState } from "react";
import { api, problemText, session } from "../api/client";

export function AuthScreen() {
  const [mode, setMode] = useState<"signin" | "signup">("signin");
  const [form, setForm] = useState({ username: "", email: "", password: "", first_name: "", last_name: "" });
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setForm({ ...form, [k]: e.target.value });

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setError("");
    setBusy(true);
    try {
      if (mode === "signup") {
        const { error } = await api.POST("/api/v1/auth/register", { body: form });
        if (error) {
          setError(problemText(error));
          return;
        }
        setNotice(`Account created. We sent a verification link to ${form.email}.`);
      }
      await session.login(form.username, form.password);
    } catch (err) {
      setError(err instanceof Error ? err.message : "Signing in failed.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="narrow auth">
      <h1>VirtualCoworking</h1>
      <p className="muted">Your team's office: board, chat, focus and meetings in one place.</p>
      <div role="tablist" aria-label="Account" className="tabs">
        <button role="tab" aria-selected={mode === "signin"} onClick={() => setMode("signin")}>
          Sign in
        </button>
        <button role="tab" aria-selected={mode === "signup"} onClick={() => setMode("signup")}>
          Sign up
        </button>
      </div>
      <form onSubmit={submit} aria-label={mode === "signin" ? "Sign in" : "Sign up"}>
        <label>
          {mode === "signin" ? "Username or e-mail" : "Username"}
          <input autoComplete="username" required value={form.username} onChange={set("username")} />
        </label>
        {mode === "signup" && (
          <>
            <label>
              E-mail
              <input type="email" autoComplete="email" required value={form.email} onChange={set("email")} />
            </label>
            <div className="row">
              <label>
                First name
                <input autoComplete="given-name" value={form.first_name} onChange={set("first_name")} />
              </label>
              <label>
                Last name
                <input autoComplete="family-name" value={form.last_name} onChange={set("last_name")} />
              </label>
            </div>
          </>
        )}
        <label>
          Password
          <input
            type="password"
            autoComplete={mode === "signin" ? "current-password" : "new-password"}
            minLength={mode === "signup" ? 10 : undefined}
            required
            value={form.password}
            onChange={set("password")}
          />
        </label>
        {mode === "signup" && <p className="hint">At least 10 characters.</p>}
        <button type="submit" disabled={busy}>
          {mode === "signin" ? "Sign in" : "Create account"}
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {notice && <p role="status">{notice}</p>}
      </form>
    </main>
  );
}
