// The typed API client: openapi-fetch over the types openapi-typescript generated from the
// gateway's merged OpenAPI (docs/api/openapi.json, `npm run gen`). Paths, parameters, bodies and answers
// are all checked by the compiler against what the services declare.
import createClient from "openapi-fetch";
import { LocalStorage, Session } from "./auth";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Api = ReturnType<typeof createClient<paths>>;

export function makeApi(session: Session, baseUrl = ""): Api {
  return createClient<paths>({ baseUrl, fetch: session.fetch });
}

export const session = new Session({ storage: new LocalStorage() });
export const api = makeApi(session, typeof location === "undefined" ? "" : location.origin);

export interface Problem {
  status?: number;
  title?: string;
  detail?: string;
}

/** The human message of a problem+json answer. */
export function problemText(error: unknown, fallback = "Something went wrong."): string {
  if (error && typeof error === "object") {
    const p = error as Problem & { errors?: { msg?: string; loc?: unknown[] }[] };
    if (p.errors?.length) return p.errors.map((e) => `${(e.loc ?? []).slice(-1)}: ${e.msg}`).join("; ");
    if (p.detail) return p.detail;
    if (p.title) return p.title;
  }
  return fallback;
}
