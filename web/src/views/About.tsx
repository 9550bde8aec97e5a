// About this master: versions (/config), who you are, the API this UI talks to.
import { API_PATHS } from "../api/generated";
import { PageTitle } from "../components/common";
import { useServices } from "../app/services";
import { isAnonymous, userLabel } from "../lib/permissions";

export function About() {
  const { config } = useServices();
  return (
    <section>
      <PageTitle>About</PageTitle>
      <dl className="summary">
        <div>
          <dt>Title</dt>
          <dd>{config.titleURL ? <a href={config.titleURL}>{config.title}</a> : config.title}</dd>
        </div>
        <div>
          <dt>URL</dt>
          <dd className="mono">{config.buildbotURL}</dd>
        </div>
        <div>
          <dt>Authentication</dt>
          <dd>{config.auth.name}</dd>
        </div>
        <div>
          <dt>You</dt>
          <dd>
            {isAnonymous(config) ? "anonymous" : userLabel(config.user)}
            {config.user.groups && config.user.groups.length > 0
              ? ` (groups: ${config.user.groups.join(", ")})`
              : ""}
          </dd>
        </div>
      </dl>
      <h2>Versions</h2>
      <table className="table versions">
        <tbody>
          {config.versions.map(([name, version]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td className="mono">{version}</td>
            </tr>
          ))}
          <tr>
            <th scope="row">Web UI</th>
            <td className="mono">{__APP_VERSION__}</td>
          </tr>
        </tbody>
      </table>
      <h2>API</h2>
      <p>
        This UI uses only the REST API <a href="/api/v2">/api/v2</a> ({API_PATHS.length} paths,
        listed by <a href="/api/v2/application.spec">application.spec</a>) and live updates over{" "}
        <code>/ws</code>.
      </p>
    </section>
  );
}
