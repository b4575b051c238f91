import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../../api/client";
import { problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";
import { FINAL_STATES } from "../../jobs/api/jobs";
import { projectKey, projectsKey } from "../../projects/api/projects";
import { tasksKey } from "../../labeling/api/labeling";

export const jobsKey = (pid: string) => ["jobs", pid] as const;

/** The project's recent jobs; polled while one of them runs (the websocket invalidates them sooner). */
export function useProjectJobs(pid: string) {
  return useQuery({
    queryKey: jobsKey(pid),
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}/jobs", { params: { path: { project_id: pid }, query: { limit: 20 } } })),
    refetchInterval: (query) => (query.state.data?.some((j) => !FINAL_STATES.has(j.state)) ? 2000 : false),
  });
}

function useTaskMutation<TArgs>(pid: string, call: (args: TArgs) => Promise<unknown>, done?: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: call,
    onSuccess: () => {
      if (done) toast.success(done);
    },
    onError: (error) => toast.error(problemMessage(error)),
    onSettled: () => client.invalidateQueries({ queryKey: tasksKey(pid) }),
  });
}

export function useCreateTask(pid: string) {
  return useTaskMutation(pid, (body: { name: string; task_type: "MULTICLASS_CLASSIFICATION" | "MULTILABEL_CLASSIFICATION" | "INFORMATION_EXTRACTION"; attribute: string | null }) =>
    unwrap(api.POST("/api/v1/projects/{project_id}/labeling-tasks", { params: { path: { project_id: pid } }, body })),
  );
}

export function useRenameTask(pid: string) {
  return useTaskMutation(pid, (args: { taskId: string; name: string }) =>
    unwrap(
      api.PATCH("/api/v1/projects/{project_id}/labeling-tasks/{task_id}", {
        params: { path: { project_id: pid, task_id: args.taskId } },
        body: { name: args.name },
      }),
    ),
  );
}

export function useDeleteTask(pid: string) {
  return useTaskMutation(
    pid,
    (taskId: string) =>
      unwrap(
        api.DELETE("/api/v1/projects/{project_id}/labeling-tasks/{task_id}", {
          params: { path: { project_id: pid, task_id: taskId }, query: {} },
        }),
      ),
    "Task deleted",
  );
}

export function useAddLabel(pid: string) {
  return useTaskMutation(pid, (args: { taskId: string; name: string; color: string; hotkey: string | null }) =>
    unwrap(
      api.POST("/api/v1/projects/{project_id}/labeling-tasks/{task_id}/labels", {
        params: { path: { project_id: pid, task_id: args.taskId } },
        body: { name: args.name, color: args.color, hotkey: args.hotkey },
      }),
    ),
  );
}

export function useUpdateLabel(pid: string) {
  return useTaskMutation(pid, (args: { labelId: string; name?: string; color?: string; hotkey?: string | null }) => {
    const { labelId, ...body } = args;
    return unwrap(api.PATCH("/api/v1/projects/{project_id}/labels/{label_id}", { params: { path: { project_id: pid, label_id: labelId } }, body }));
  });
}

export function useDeleteLabel(pid: string) {
  return useTaskMutation(pid, (labelId: string) =>
    unwrap(api.DELETE("/api/v1/projects/{project_id}/labels/{label_id}", { params: { path: { project_id: pid, label_id: labelId }, query: {} } })),
  );
}

export function useUpdateProject(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name?: string; description?: string }) =>
      unwrap(api.PATCH("/api/v1/projects/{project_id}", { params: { path: { project_id: pid } }, body })),
    onSuccess: (project) => {
      client.setQueryData(projectKey(pid), project);
      void client.invalidateQueries({ queryKey: projectsKey });
      toast.success("Project saved");
    },
    onError: (error) => toast.error(problemMessage(error)),
  });
}

/** Change the project's tokenizer: checked by the tokenizer service, then every record is tokenized again (a job). */
export function useChangeTokenizer(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (tokenizer: string) =>
      unwrap(api.PUT("/api/v1/projects/{project_id}/tokenizer", { params: { path: { project_id: pid } }, body: { tokenizer } })),
    onSuccess: (out) => {
      toast.info(`Tokenizer set to ${out.tokenizer}; tokenizing the records again`);
      void client.invalidateQueries({ queryKey: projectKey(pid) });
      void client.invalidateQueries({ queryKey: jobsKey(pid) });
    },
    onError: (error) => toast.error(problemMessage(error)),
  });
}
