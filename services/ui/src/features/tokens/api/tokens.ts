import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";

export type ApiToken = Schemas["TokenOut"];
const tokensKey = ["tokens"] as const;

export function useTokens() {
  return useQuery({ queryKey: tokensKey, queryFn: () => unwrap(api.GET("/api/v1/tokens")) });
}

export function useCreateToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; expires_in_days: number | null; read_only?: boolean }) =>
      unwrap(api.POST("/api/v1/tokens", { body: { read_only: false, ...body } })),
    onSuccess: () => client.invalidateQueries({ queryKey: tokensKey }),
  });
}

export function useRevokeToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/tokens/{token_id}", { params: { path: { token_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: tokensKey }),
  });
}
