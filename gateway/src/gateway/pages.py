"""Small pages the gateway serves itself, for the links identity puts in its mails.

``/verify-email?token=…`` is where the verification mail's link leads (``PUBLIC_URL`` is the
gateway): the page posts the token to ``POST /api/v1/auth/verify`` and says what happened. No
script or style comes from elsewhere, so it works on a machine without internet access. On
success it tells the web client's open tabs (a ``BroadcastChannel("vc")`` message), which then
drop their "verify your e-mail" banner.
"""

from __future__ import annotations

VERIFY_EMAIL_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Verify your e-mail · VirtualCoworking</title>
  <style>
    body { font: 16px/1.5 system-ui, sans-serif; max-width: 32rem; margin: 4rem auto;
           padding: 0 1rem; color: #1f2328; }
    .ok { color: #1a7f37; } .bad { color: #cf222e; }
  </style>
</head>
<body>
  <h1>VirtualCoworking</h1>
  <p id="status" role="status" aria-live="polite">Verifying your e-mail address…</p>
  <p><a href="/">Open VirtualCoworking</a></p>
  <script>
    (async () => {
      const status = document.getElementById("status");
      const token = new URLSearchParams(location.search).get("token");
      if (!token) {
        status.textContent = "This link has no token. Open the link from your mail again.";
        status.className = "bad";
        return;
      }
      try {
        const r = await fetch("/api/v1/auth/verify", {
          method: "POST",
          headers: {"Content-Type": "application/json"},
          body: JSON.stringify({token}),
        });
        const body = await r.json();
        if (r.ok) {
          status.textContent = "Thank you, " + body.username + ": your e-mail address is verified.";
          status.className = "ok";
          // the web client's open tabs (same origin) drop their "verify your e-mail" banner
          if ("BroadcastChannel" in window) {
            new BroadcastChannel("vc").postMessage({type: "verified"});
          }
        } else {
          status.textContent = body.detail || "This link cannot be used.";
          status.className = "bad";
        }
      } catch (e) {
        status.textContent = "The platform cannot be reached right now; try the link again.";
        status.className = "bad";
      }
    })();
  </script>
</body>
</html>
"""
