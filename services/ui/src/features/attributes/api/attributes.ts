import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";
import { problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";
import { asOutcome, asSampleResult } from "../../heuristics/api/heuristics";

export type Calculated = Schemas["CalculatedOut"];
export type DataType = Schemas["DataType"];
export type Visibility = Schemas["AttributeVisibility"];

export const DATA_TYPES: readonly DataType[] = ["TEXT", "CATEGORY", "INTEGER", "FLOAT", "BOOLEAN", "EMBEDDING_LIST"];
export const VISIBILITIES: readonly { value: Visibility; label: string }[] = [
  { value: "DO_NOT_HIDE", label: "Shown everywhere" },
  { value: "HIDE_ON_DATA_BROWSER", label: "Hidden in the data browser" },
  { value: "HIDE_ON_LABELING_PAGE", label: "Hidden on the labeling page" },
  { value: "HIDE", label: "Hidden" },
];

export const calculatedKey = (pid: string) => ["calculated", pid] as const;
export const calculatedOneKey = (pid: string, id: string) => ["calculated", pid, id] as const;

export function useCalculatedAttributes(pid: string) {
  return useQuery({
    queryKey: calculatedKey(pid),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/attributes/calculated", { params: { path: { project_id: pid } } })),
  });
}

/** One calculated attribute, polled while it runs (its state and logs change). */
export function useCalculated(pid: string, id: string) {
  return useQuery({
    queryKey: calculatedOneKey(pid, id),
    enabled: Boolean(id),
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}/attributes/calculated/{attribute_id}", { params: { path: { project_id: pid, attribute_id: id } } })),
    refetchInterval: (query) => (query.state.data?.state === "RUNNING" ? 1000 : false),
  });
}

function useInvalidate(pid: string) {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: ["calculated", pid] });
    void client.invalidateQueries({ queryKey: ["attributes", pid] });
  };
}

export function useCreateCalculated(pid: string) {
  const invalidate = useInvalidate(pid);
  return useMutation({
    mutationFn: (body: { name: string; data_type: DataType; visibility: Visibility; source_code: string }) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/attributes/calculated", { params: { path: { project_id: pid } }, body })),
    onSuccess: invalidate,
  });
}

export function useUpdateCalculated(pid: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name?: string; data_type?: DataType; visibility?: Visibility; source_code?: string }) =>
      unwrap(
        api.PATCH("/api/v1/projects/{project_id}/attributes/calculated/{attribute_id}", { params: { path: { project_id: pid, attribute_id: id } }, body }),
      ),
    onSuccess: (out) => {
      client.setQueryData(calculatedOneKey(pid, id), out);
      void client.invalidateQueries({ queryKey: calculatedKey(pid), exact: true });
    },
  });
}

export function useDeleteCalculated(pid: string) {
  const invalidate = useInvalidate(pid);
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/api/v1/projects/{project_id}/attributes/calculated/{attribute_id}", { params: { path: { project_id: pid, attribute_id: id } } })),
    onSuccess: () => toast.success("Attribute deleted"),
    onError: (error) => toast.error(problemMessage(error)),
    onSettled: invalidate,
  });
}

/** Run code on 10 records: of a saved attribute (id) or, before it exists, with a data type. */
export function useAttributeSample(pid: string) {
  return useMutation({
    mutationFn: async (args: { id: string | null; dataType: DataType; source_code: string; record_ids?: number[] }) => {
      const body = { source_code: args.source_code, record_ids: args.record_ids ?? null, sample_size: 10 };
      const out = args.id
        ? await unwrap(
            api.POST("/api/v1/projects/{project_id}/attributes/calculated/{attribute_id}/sample", {
              params: { path: { project_id: pid, attribute_id: args.id } },
              body,
            }),
          )
        : await unwrap(
            api.POST("/api/v1/projects/{project_id}/attributes/calculated/sample", {
              params: { path: { project_id: pid }, query: { data_type: args.dataType } },
              body,
            }),
          );
      return asSampleResult(out);
    },
  });
}

export function useRunCalculated(pid: string, id: string) {
  const invalidate = useInvalidate(pid);
  return useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/attributes/calculated/{attribute_id}/run", { params: { path: { project_id: pid, attribute_id: id } } }),
      ),
    onError: (error) => toast.error(problemMessage(error)),
    onSettled: invalidate,
  });
}

/** Run a snippet in the sandbox with `record` = one record: its printed output, result and error. */
export function useRecordIde(pid: string) {
  return useMutation({
    mutationFn: async (args: { recordId: number; code: string }) =>
      asOutcome(
        await unwrap(
          api.POST("/api/v1/projects/{project_id}/records/{record_id}/ide", {
            params: { path: { project_id: pid, record_id: args.recordId } },
            body: { code: args.code },
          }),
        ),
      ),
  });
}
