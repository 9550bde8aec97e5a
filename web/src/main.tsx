// Boot: read /config (title, auth, the current user), open the one live connection, render.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { App } from "./App";
import { LatestBuilds } from "./app/latestBuilds";
import { Notifier } from "./app/notifier";
import { ServicesProvider, type Services } from "./app/services";
import { defaultLiveUrl, LiveConnection } from "./api/live";
import { RestClient } from "./api/rest";
import { Store } from "./api/store";
import { Permissions, type KilnConfig } from "./lib/permissions";
import "./styles.css";

// /auth/login and /auth/logout redirect to `<url>#<route>`: turn that into a path.
if (window.location.hash.startsWith("#/")) {
  window.history.replaceState(null, "", window.location.hash.slice(1));
}

async function boot(): Promise<void> {
  const root = createRoot(document.getElementById("root") as HTMLElement);
  let config: KilnConfig;
  try {
    const response = await fetch("/config", {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = (await response.json()) as KilnConfig;
  } catch (error) {
    root.render(
      <p className="boot-error">Cannot reach the master ({String(error)}). Reload to try again.</p>,
    );
    return;
  }
  const rest = new RestClient();
  const live = new LiveConnection({ url: defaultLiveUrl(), pingInterval: 30_000 });
  live.start();
  const services: Services = {
    rest,
    live,
    store: new Store(rest, live),
    config,
    permissions: new Permissions(config, window.sessionStorage),
    notifier: new Notifier(),
    latest: new LatestBuilds(rest, live),
  };
  void services.latest.start().catch(() => undefined);
  root.render(
    <StrictMode>
      <ServicesProvider services={services}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </ServicesProvider>
    </StrictMode>,
  );
}

void boot();
