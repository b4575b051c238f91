import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { setUnauthorizedHandler } from "../api/client";
import { ApiError } from "../api/problem";
import { meKey } from "../features/auth/api/auth";
import { LoginPage } from "../features/auth/components/LoginPage";
import { NewProjectPage } from "../features/projects/components/NewProjectPage";
import { ProjectsPage } from "../features/projects/components/ProjectsPage";
import { TokensPage } from "../features/tokens/components/TokensPage";
import { ErrorBoundary } from "../shared/ErrorBoundary";
import { Loading } from "../shared/ErrorBox";
import { Toasts } from "../shared/Toasts";
import { AuthenticatedShell, NotFoundPage, ProjectShell } from "./Shell";
import { ProjectHome } from "../features/assignments/components/ProjectHome";
import { OverviewPageRoute as OverviewPage, preloadRoute } from "./preloadRoute";
import { prefetchRouteData } from "../features/overview/api/prefetch";

const LabelingPage = lazy(() => import("../features/labeling/components/LabelingPage"));
const SettingsPage = lazy(() => import("../features/settings/components/SettingsPage"));
const DataBrowserPage = lazy(() => import("../features/browser/components/DataBrowserPage"));
const HeuristicsPage = lazy(() => import("../features/heuristics/components/HeuristicsPage"));
const LabelingFunctionPage = lazy(() => import("../features/heuristics/components/LabelingFunctionPage"));
const ZeroShotPage = lazy(() => import("../features/heuristics/components/ZeroShotPage"));
const LookupListsPage = lazy(() => import("../features/lookup-lists/components/LookupListsPage"));
const LookupListPage = lazy(() => import("../features/lookup-lists/components/LookupListPage"));
const AttributesPage = lazy(() => import("../features/attributes/components/AttributesPage"));
const AttributePage = lazy(() => import("../features/attributes/components/AttributePage"));
const RecordIdePage = lazy(() => import("../features/attributes/components/RecordIdePage"));
const ConfigPage = lazy(() => import("../features/config/components/ConfigPage"));
const QueuePage = lazy(() => import("../features/assignments/components/QueuePage"));
const TeamPage = lazy(() => import("../features/team/components/TeamPage"));

preloadRoute(window.location.pathname);

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
    },
  },
});

setUnauthorizedHandler(() => queryClient.setQueryData(meKey, null));
// The page's data starts loading beside the session check, as its chunk does (see preloadRoute).
prefetchRouteData(queryClient, window.location.pathname);

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <ErrorBoundary>
          <Suspense fallback={<Loading what="the page" />}>
            <Routes>
              <Route path="/login" element={<LoginPage />} />
              <Route element={<AuthenticatedShell />}>
                <Route index element={<Navigate to="/projects" replace />} />
                <Route path="/projects" element={<ProjectsPage />} />
                <Route path="/projects/new" element={<NewProjectPage />} />
                <Route path="/account/tokens" element={<TokensPage />} />
                <Route path="/config" element={<ConfigPage />} />
                <Route path="/projects/:projectId" element={<ProjectShell />}>
                  <Route index element={<ProjectHome />} />
                  <Route path="overview" element={<OverviewPage />} />
                  <Route path="data-browser" element={<DataBrowserPage />} />
                  <Route path="heuristics" element={<HeuristicsPage />} />
                  <Route path="heuristics/zero-shot" element={<ZeroShotPage />} />
                  <Route path="heuristics/:heuristicId" element={<LabelingFunctionPage />} />
                  <Route path="lookup-lists" element={<LookupListsPage />} />
                  <Route path="lookup-lists/:listId" element={<LookupListPage />} />
                  <Route path="attributes" element={<AttributesPage />} />
                  <Route path="attributes/new" element={<AttributePage />} />
                  <Route path="attributes/:attributeId" element={<AttributePage />} />
                  <Route path="record-ide" element={<RecordIdePage />} />
                  <Route path="labeling" element={<LabelingPage />} />
                  <Route path="labeling/:sessionId" element={<LabelingPage />} />
                  <Route path="settings" element={<SettingsPage />} />
                  <Route path="queue" element={<QueuePage />} />
                  <Route path="team" element={<TeamPage />} />
                </Route>
                <Route path="*" element={<NotFoundPage />} />
              </Route>
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </BrowserRouter>
      <Toasts />
    </QueryClientProvider>
  );
}
