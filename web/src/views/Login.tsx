// Logging in: Kiln checks HTTP Basic credentials at /auth/login, then sets the session
// cookie and redirects. The form sends them with fetch (no browser dialog) and reloads the
// app so that the REST client and the WebSocket use the new session.
import { useId, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { PageTitle } from "../components/common";
import { useServices } from "../app/services";
import { isAnonymous, isAuthConfigured, userLabel } from "../lib/permissions";

export function basicAuthorization(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** Only routes of this app (no other origins) are redirect targets. */
export function safeRedirect(value: string | null): string {
  return value && value.startsWith("/") && !value.startsWith("//") ? value : "/";
}

export function Login() {
  const { config } = useServices();
  const [params] = useSearchParams();
  const redirect = safeRedirect(params.get("redirect"));
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const errorId = useId();

  if (!isAuthConfigured(config)) {
    return (
      <section>
        <PageTitle>Log in</PageTitle>
        <p>This master has no authentication configured: everyone may use every control.</p>
      </section>
    );
  }
  if (!isAnonymous(config)) {
    return (
      <section>
        <PageTitle>Logged in</PageTitle>
        <p>
          You are logged in as <strong>{userLabel(config.user)}</strong>.{" "}
          <a href={`/auth/logout?redirect=${encodeURIComponent(redirect)}`}>Log out</a>
        </p>
      </section>
    );
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const authorization = basicAuthorization(user, password);
      // Check the password where a refusal carries no Basic challenge (/auth/login's 401
      // would make the browser open its own login dialog), then log in for the cookie.
      const check = await fetch("/config", {
        headers: { Authorization: authorization, Accept: "application/json" },
        credentials: "same-origin",
      });
      if (check.status === 401) {
        setError("Wrong user name or password.");
        return;
      }
      const response = await fetch(`/auth/login?redirect=${encodeURIComponent(redirect)}`, {
        headers: { Authorization: authorization },
        credentials: "same-origin",
        redirect: "manual",
      });
      if (response.type === "opaqueredirect" || response.ok) {
        window.location.assign(redirect);
        return;
      }
      setError(
        response.status === 401
          ? "Wrong user name or password."
          : `Login failed (HTTP ${response.status}).`,
      );
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="narrow">
      <PageTitle>Log in</PageTitle>
      <form
        className="card login-form"
        onSubmit={(e) => void submit(e)}
        aria-describedby={error ? errorId : undefined}
      >
        <div className="field">
          <label htmlFor="login-user">User name</label>
          <input
            id="login-user"
            name="username"
            autoComplete="username"
            required
            value={user}
            onChange={(e) => setUser(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        {error ? (
          <p id={errorId} className="error-text" role="alert">
            {error}
          </p>
        ) : null}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Logging in…" : "Log in"}
          </button>
          <a href={`/auth/login?redirect=${encodeURIComponent(redirect)}`} className="muted">
            Use the browser's login dialog
          </a>
        </div>
      </form>
    </section>
  );
}
