// The page frame (header, navigation, connection state, notices) and the routes.
import { lazy, Suspense, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { NavLink, Route, Routes, useLocation } from "react-router";
import { useConnectionState, useServices } from "./app/services";
import { isAnonymous, isAuthConfigured, userLabel } from "./lib/permissions";
import { Loading } from "./components/common";
import { About } from "./views/About";
import { Builder } from "./views/Builder";
import { Builders } from "./views/Builders";
import { Home } from "./views/Home";
import { Login } from "./views/Login";
import { Workers } from "./views/Workers";

// Views with code of their own (the log viewer, the waterfall, the console, the grid) load on
// first use: the first page of the app parses less.
const Build = lazy(() => import("./views/Build").then((m) => ({ default: m.Build })));
const LogPage = lazy(() => import("./views/Build").then((m) => ({ default: m.LogPage })));
const Waterfall = lazy(() => import("./views/Waterfall").then((m) => ({ default: m.Waterfall })));
const Console = lazy(() => import("./views/Console").then((m) => ({ default: m.Console })));
const Grid = lazy(() => import("./views/Grid").then((m) => ({ default: m.Grid })));
const Changes = lazy(() => import("./views/Changes").then((m) => ({ default: m.Changes })));
const ChangePage = lazy(() => import("./views/Changes").then((m) => ({ default: m.ChangePage })));

type Theme = "light" | "dark" | "system";

function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(
    () => (localStorage.getItem("kiln.theme") as Theme | null) ?? "system",
  );
  useEffect(() => {
    if (theme === "system") document.documentElement.removeAttribute("data-theme");
    else document.documentElement.setAttribute("data-theme", theme);
    localStorage.setItem("kiln.theme", theme);
  }, [theme]);
  return [theme, setTheme];
}

function ConnectionBanner() {
  const state = useConnectionState();
  const { live } = useServices();
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(
    () =>
      live?.onResync(() => {
        setNotice("Reconnected to the master; the page was brought up to date.");
        window.setTimeout(() => setNotice(null), 8000);
      }),
    [live],
  );
  if (state !== "open" && live?.hasOpened) {
    return (
      <div className="banner warning" role="status" data-testid="connection-lost">
        Connection to the master lost; reconnecting… (what you see may be out of date){" "}
        {state === "closed" ? (
          <button type="button" className="small" onClick={() => live.reconnectNow()}>
            Reconnect now
          </button>
        ) : null}
      </div>
    );
  }
  if (notice) {
    return (
      <div className="banner success" role="status" data-testid="reconnected">
        {notice}
      </div>
    );
  }
  return null;
}

function Notices() {
  const { notifier } = useServices();
  const notices = useSyncExternalStore(notifier.subscribe, notifier.getSnapshot);
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div
          key={n.id}
          className={`notice ${n.kind}`}
          role={n.kind === "error" ? "alert" : "status"}
        >
          <span>{n.text}</span>
          <button
            type="button"
            className="small"
            aria-label="Dismiss"
            onClick={() => notifier.dismiss(n.id)}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

function UserMenu() {
  const { config } = useServices();
  const location = useLocation();
  if (!isAuthConfigured(config)) return null;
  const here = location.pathname + location.search;
  if (isAnonymous(config)) {
    return (
      <NavLink
        to={`/login?redirect=${encodeURIComponent(here === "/login" ? "/" : here)}`}
        className="nav-link"
        data-testid="login-link"
      >
        Log in
      </NavLink>
    );
  }
  return (
    <span className="user">
      <span data-testid="user-name">{userLabel(config.user)}</span>{" "}
      <a
        href={`/auth/logout?redirect=${encodeURIComponent(here)}`}
        className="nav-link"
        data-testid="logout-link"
      >
        Log out
      </a>
    </span>
  );
}

export function App() {
  const { config } = useServices();
  const [theme, setTheme] = useTheme();
  const state = useConnectionState();
  const location = useLocation();
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    document.title = config.title ? `${config.title} – Kiln` : "Kiln";
  }, [config.title]);
  useEffect(() => {
    // After navigation, keyboard and screen-reader users start at the new page's content.
    main.current?.focus({ preventScroll: true });
  }, [location.pathname]);
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="top">
        <NavLink to="/" className="brand">
          {config.title || "Kiln"}
        </NavLink>
        <nav aria-label="Main">
          <NavLink to="/" end className="nav-link">
            Home
          </NavLink>
          <NavLink to="/builders" className="nav-link">
            Builders
          </NavLink>
          <NavLink to="/waterfall" className="nav-link">
            Waterfall
          </NavLink>
          <NavLink to="/console" className="nav-link">
            Console
          </NavLink>
          <NavLink to="/grid" className="nav-link">
            Grid
          </NavLink>
          <NavLink to="/changes" className="nav-link">
            Changes
          </NavLink>
          <NavLink to="/workers" className="nav-link">
            Workers
          </NavLink>
          <NavLink to="/about" className="nav-link">
            About
          </NavLink>
        </nav>
        <span className="spacer" />
        <span
          className={`live-dot ${state}`}
          title={`Live updates: ${state}`}
          aria-label={`Live updates: ${state}`}
          role="img"
        />
        <label className="theme">
          <span className="sr-only">Theme</span>
          <select value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
            <option value="system">Auto</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </label>
        <UserMenu />
      </header>
      <ConnectionBanner />
      <main id="main" ref={main} tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route path="/" element={<Home />} />
            <Route path="/builders" element={<Builders />} />
            <Route path="/builders/:builderid" element={<Builder />} />
            <Route path="/builders/:builderid/builds/:number" element={<Build />} />
            <Route
              path="/builders/:builderid/builds/:number/steps/:step/logs/:slug"
              element={<LogPage />}
            />
            <Route path="/waterfall" element={<Waterfall />} />
            <Route path="/console" element={<Console />} />
            <Route path="/grid" element={<Grid />} />
            <Route path="/changes" element={<Changes />} />
            <Route path="/changes/:changeid" element={<ChangePage />} />
            <Route path="/workers" element={<Workers />} />
            <Route path="/login" element={<Login />} />
            <Route path="/about" element={<About />} />
            <Route path="*" element={<p>No such page.</p>} />
          </Routes>
        </Suspense>
      </main>
      <Notices />
    </>
  );
}
