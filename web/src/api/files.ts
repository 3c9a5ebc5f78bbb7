import { problemText, type Schemas, session } from "./client";

/** Uploads ``file`` into the team's files: the body is the file itself, streamed by the files
 * service (its name in the query). The stored file, or the problem's text. */
export async function uploadTeamFile(teamId: string, file: File): Promise<{ file?: Schemas["FileRead"]; error?: string }> {
  const r = await session.fetch(
    new Request(`/api/v1/teams/${teamId}/files?filename=${encodeURIComponent(file.name)}`, {
      method: "POST",
      headers: { "Content-Type": file.type || "application/octet-stream" },
      body: file,
    }),
  );
  if (!r.ok) return { error: problemText(await r.json().catch(() => null)) };
  return { file: (await r.json()) as Schemas["FileRead"] };
}
