import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";
import { attributesKey } from "../../labeling/api/labeling";

export type Embedding = Schemas["EmbeddingOut"];
export type Attribute = Schemas["AttributeOut"];

export const embeddingsKey = (pid: string) => ["embeddings", pid] as const;

/** The project's embeddings; polled while one is being computed (the websocket refreshes them sooner). */
export function useEmbeddings(pid: string) {
  return useQuery({
    queryKey: embeddingsKey(pid),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/embeddings", { params: { path: { project_id: pid } } })),
    refetchInterval: (query) => (query.state.data?.some((e) => e.state === "QUEUED" || e.state === "RUNNING") ? 2000 : false),
  });
}

export interface EmbeddingModel {
  name: string;
  platform: string;
}

function isModel(value: unknown): value is EmbeddingModel {
  return typeof value === "object" && value !== null && typeof (value as EmbeddingModel).name === "string";
}

/** The models the embedder offers here (the schema leaves the answer untyped, so it is checked); [] when unreachable. */
export function useEmbeddingModels() {
  return useQuery({
    queryKey: ["embedding-models"],
    queryFn: async (): Promise<EmbeddingModel[]> => {
      const body: unknown = await unwrap(api.GET("/api/v1/embedding-models"));
      const models = (body as { models?: unknown } | null)?.models;
      return Array.isArray(models) ? models.filter(isModel).map((m) => ({ name: m.name, platform: String(m.platform ?? "") })) : [];
    },
    staleTime: 5 * 60_000,
    retry: false,
  });
}

export function useCreateEmbedding(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["EmbeddingCreate"]) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/embeddings", { params: { path: { project_id: pid } }, body })),
    onSettled: () => client.invalidateQueries({ queryKey: embeddingsKey(pid) }),
  });
}

export function useDeleteEmbedding(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/api/v1/projects/{project_id}/embeddings/{embedding_id}", { params: { path: { project_id: pid, embedding_id: id } } })),
    onSettled: () => client.invalidateQueries({ queryKey: embeddingsKey(pid) }),
  });
}

export function useSetVisibility(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { attributeId: string; visibility: Attribute["visibility"] }) =>
      unwrap(
        api.PUT("/api/v1/projects/{project_id}/attributes/{attribute_id}/visibility", {
          params: { path: { project_id: pid, attribute_id: args.attributeId } },
          body: { visibility: args.visibility as Schemas["VisibilityIn"]["visibility"] },
        }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: attributesKey(pid) }),
  });
}

/** Add (or take out) an attribute of the primary key; the server checks that the key stays unique (409 names clashes). */
export function useSetPrimaryKey(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { attributeId: string; on: boolean }) =>
      unwrap(
        api.PUT("/api/v1/projects/{project_id}/attributes/{attribute_id}/primary-key", {
          params: { path: { project_id: pid, attribute_id: args.attributeId } },
          body: { is_primary_key: args.on },
        }),
      ),
    onSuccess: (attributes) => client.setQueryData(attributesKey(pid), attributes),
  });
}
