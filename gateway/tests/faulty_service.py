"""A service for the gateway's fault tests, run as its own uvicorn process:
``python faulty_service.py <port>``. ``/api/v1/faulty/boom`` raises (uvicorn then closes the
connection without saying so); everything else answers what it was sent."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()


@app.api_route("/api/v1/faulty/boom", methods=["GET", "POST"])
async def boom() -> None:
    raise RuntimeError("a bug")


@app.api_route("/api/v1/faulty/{name}", methods=["GET", "POST", "PUT", "DELETE"])
async def echo(name: str, request: Request) -> dict[str, object]:
    return {"name": name, "method": request.method, "size": len(await request.body())}


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="critical")
