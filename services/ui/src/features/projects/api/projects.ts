import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, postFile, unwrap, type Schemas } from "../../../api/client";
import { jobKey, type Job } from "../../jobs/api/jobs";
import { reconnectLiveEvents } from "../../jobs/hooks/useLiveEvents";

export type Project = Schemas["ProjectOut"];

export const projectsKey = ["projects"] as const;
export const projectKey = (id: string) => ["project", id] as const;

export function useProjects() {
  return useQuery({ queryKey: projectsKey, queryFn: () => unwrap(api.GET("/api/v1/projects")) });
}

export function useProject(id: string) {
  return useQuery({
    queryKey: projectKey(id),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}", { params: { path: { project_id: id } } })),
  });
}

export function useCreateProject() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: { name: string; description: string; tokenizer: string }) => {
      const project = await unwrap(api.POST("/api/v1/projects", { body }));
      reconnectLiveEvents();
      return project;
    },
    onSuccess: () => client.invalidateQueries({ queryKey: projectsKey }),
  });
}

/** Upload a file of records into a project; the answer is the `upload` job (its progress arrives live). */
export function useUploadRecords() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { projectId: string; file: File }) =>
      postFile<Job>(`/api/v1/projects/${encodeURIComponent(args.projectId)}/upload`, args.file),
    onSuccess: (job) => client.setQueryData(jobKey(job.id), job),
  });
}

/** Import a project snapshot (ours or the original refinery's export) as a new project, as a job. */
export function useImportSnapshot() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { file: File; name: string }) =>
      postFile<Job>("/api/v1/projects/import", args.file, args.name ? { name: args.name } : {}),
    onSuccess: (job) => {
      client.setQueryData(jobKey(job.id), job);
      reconnectLiveEvents();
    },
  });
}

export function useDeleteProject() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/projects/{project_id}", { params: { path: { project_id: id } } })),
    onSuccess: (_job, id) => {
      client.setQueryData<Project[]>(projectsKey, (list) => list?.filter((p) => p.id !== id));
      void client.invalidateQueries({ queryKey: projectsKey });
    },
  });
}

/** Delete a project without waiting (a failed upload leaves nothing behind). */
export async function discardProject(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/v1/projects/{project_id}", { params: { path: { project_id: id } } }));
}

export function percent(part: number, whole: number | null | undefined): string {
  if (!whole) return "0 %";
  const value = (100 * part) / whole;
  return `${value >= 10 || value === 0 ? Math.round(value) : value.toFixed(1)} %`;
}

export type SampleProject = Schemas["SampleOut"];

export const samplesKey = ["sample-projects"] as const;

/** The sample projects this installation offers (snapshots in its configured folder). */
export function useSampleProjects(enabled: boolean) {
  return useQuery({ queryKey: samplesKey, enabled, queryFn: () => unwrap(api.GET("/api/v1/sample-projects")), staleTime: 60_000 });
}

/** Import a sample project as a new project of the user (a snapshot import job). */
export function useImportSample() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { name: string; projectName: string }) =>
      unwrap(
        api.POST("/api/v1/sample-projects/{name}/import", {
          params: { path: { name: args.name } },
          body: { project_name: args.projectName },
        }),
      ),
    onSuccess: (job) => {
      client.setQueryData(jobKey(job.id), job);
      reconnectLiveEvents();
    },
  });
}
