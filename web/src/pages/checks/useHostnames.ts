import { useMemo } from "react";
import { api } from "../../api/client";
import { useResource } from "../../hooks/useResource";

/** The tenant's hosts and their names by id: where checks may run (every role may list hosts). */
export function useHostnames() {
  const servers = useResource("servers", (signal) => api.servers(signal));
  const hostnames = useMemo(() => new Map(servers.data?.map((s) => [s.id, s.hostname])), [servers.data]);
  return { servers: servers.data ?? [], hostnames };
}
