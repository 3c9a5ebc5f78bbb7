import { useCallback, useEffect, useState } from "react";
import { api, type Schemas } from "../api/client";
import { uploadTeamFile } from "../api/files";

export function FilesScreen({ team }: { team: Schemas["TeamRead"] }) {
  const [files, setFiles] = useState<Schemas["FileRead"][]>([]);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const load = useCallback(async () => {
    const { data } = await api.GET("/api/v1/teams/{team_id}/files", { params: { path: { team_id: team.id }, query: { limit: 200 } } });
    if (data) setFiles(data.items);
  }, [team.id]);
  useEffect(() => void load(), [load]);

  async function upload(file: File) {
    setBusy(true);
    const { error } = await uploadTeamFile(team.id, file);
    setBusy(false);
    setError(error ?? "");
    if (!error) void load();
  }

  return (
    <section aria-labelledby="f-title">
      <h1 id="f-title">Files</h1>
      <label className="upload">
        Upload a file
        <input type="file" disabled={busy} onChange={(e) => e.target.files?.[0] && void upload(e.target.files[0])} />
      </label>
      {error && <p role="alert" className="error">{error}</p>}
      <table className="data">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Size</th>
            <th scope="col">Added</th>
          </tr>
        </thead>
        <tbody>
          {files.map((f) => (
            <tr key={f.id}>
              <td>
                <a href={f.file_url} target="_blank" rel="noreferrer">
                  {f.name}
                </a>
              </td>
              <td>{(f.size / 1024).toFixed(1)} KiB</td>
              <td>{new Date(f.created_at).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
