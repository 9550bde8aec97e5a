// What every view uses, through React context: the REST client, the one live connection,
// the store of live queries, the master's /config, the permissions and the notices.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import type { ConnectionState, LiveConnection } from "../api/live";
import { ControlError, type RestClient } from "../api/rest";
import { keyOf, type LiveState, type QuerySpec, type Store } from "../api/store";
import type { Action, KilnConfig, Permissions } from "../lib/permissions";
import type { LatestBuilds } from "./latestBuilds";
import type { Notifier } from "./notifier";

export interface Services {
  rest: RestClient;
  live: LiveConnection | null;
  store: Store;
  config: KilnConfig;
  permissions: Permissions;
  notifier: Notifier;
  latest: LatestBuilds;
}

const ServicesContext = createContext<Services | null>(null);

export function ServicesProvider({
  services,
  children,
}: {
  services: Services;
  children: ReactNode;
}) {
  return <ServicesContext.Provider value={services}>{children}</ServicesContext.Provider>;
}

export function useServices(): Services {
  const services = useContext(ServicesContext);
  if (!services) throw new Error("useServices outside ServicesProvider");
  return services;
}

const noSubscribe = () => () => undefined;
const notStarted: LiveState<never> = { items: [], loading: false, error: null, total: null };
const getNotStarted = () => notStarted;

/** The items of a live query (null: none), kept current by /ws events. */
export function useLive<T>(spec: QuerySpec<T> | null): LiveState<T> {
  const { store } = useServices();
  const key = spec ? keyOf(spec) : null;
  // The spec object is new on every render; its key says when it really changed.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const query = useMemo(() => (spec ? store.get(spec) : null), [key, store]);
  useEffect(() => (query ? store.retain(query.spec) : undefined), [query, store]);
  return useSyncExternalStore(
    query?.subscribe ?? noSubscribe,
    (query?.getSnapshot ?? getNotStarted) as () => LiveState<T>,
  );
}

/** May the user use `action` (on builder `scope`)? Re-renders when a refusal is recorded. */
export function usePermission(action: Action, scope?: string | number): boolean {
  const { permissions } = useServices();
  useSyncExternalStore(permissions.subscribe, permissions.getVersion);
  return permissions.may(action, scope);
}

export interface ControlCall {
  path: string;
  method: Action;
  params?: object;
  /** The builder the control concerns (for remembering a refusal). */
  scope?: string | number;
  /** Notice on success (none when absent). */
  success?: string;
}

/** Runs a control call; a 403 hides that control from then on; errors become notices. */
export function useControl(): <R>(call: ControlCall) => Promise<R> {
  const { rest, permissions, notifier } = useServices();
  return useCallback(
    async <R,>(call: ControlCall): Promise<R> => {
      try {
        const result = await rest.control<R>(call.path, call.method, call.params ?? {});
        if (call.success) notifier.notify(call.success, "success");
        return result;
      } catch (error) {
        if (error instanceof ControlError && error.isForbidden) {
          permissions.deny(call.method, call.scope);
          notifier.notify(`Not allowed: ${error.message}`, "error");
        } else if (!(error instanceof ControlError && Object.keys(error.fieldErrors).length > 0)) {
          notifier.notify(error instanceof Error ? error.message : String(error), "error");
        }
        throw error;
      }
    },
    [rest, permissions, notifier],
  );
}

export function useConnectionState(): ConnectionState {
  const { live } = useServices();
  const subscribe = useCallback(
    (listener: () => void) => live?.onState(listener) ?? (() => undefined),
    [live],
  );
  return useSyncExternalStore(subscribe, () => live?.state ?? "open");
}

/** The current time in epoch seconds, updated every `intervalMs` (for running durations). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now() / 1000), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
