// Which controls the user may use. The master's /config does not list the authorization
// rules, so the UI follows two rules (docs/web-ui.md):
//   1. when authentication is configured (`auth.name` is not "NoAuth") and the user is
//      anonymous, no control is shown;
//   2. when a control call is refused with 403 by the rules, that control is hidden from
//      then on (for that builder, when the control belongs to one), until the user changes.
// Refusals are remembered per user for the browser session (sessionStorage).

export interface UserInfo {
  anonymous?: boolean;
  username?: string;
  email?: string;
  full_name?: string;
  groups?: string[];
}

export interface KilnConfig {
  title: string;
  titleURL?: string;
  buildbotURL: string;
  auth: { name: string };
  user: UserInfo;
  versions: [string, string][];
  multiMaster?: boolean;
  port?: number | string;
}

export type Action = "force" | "stop" | "rebuild" | "cancel" | "pause" | "unpause";

export function isAuthConfigured(config: KilnConfig): boolean {
  return config.auth.name !== "NoAuth";
}

export function isAnonymous(config: KilnConfig): boolean {
  return config.user.anonymous === true || !config.user.username;
}

export function userLabel(user: UserInfo): string {
  return user.full_name || user.username || user.email || "anonymous";
}

export class Permissions {
  private readonly denied: Set<string>;
  private readonly listeners = new Set<() => void>();
  private version = 0;
  private readonly storageKey: string;

  constructor(
    private readonly config: KilnConfig,
    private readonly storage: Pick<Storage, "getItem" | "setItem"> | null = null,
  ) {
    this.storageKey = `kiln.denied.${config.user.username ?? "anonymous"}`;
    let saved: string[] = [];
    try {
      saved = JSON.parse(storage?.getItem(this.storageKey) ?? "[]") as string[];
    } catch {
      saved = [];
    }
    this.denied = new Set(Array.isArray(saved) ? saved : []);
  }

  /** May the user see and use `action` (on the builder `scope`, when given)? */
  may(action: Action, scope?: string | number): boolean {
    if (isAuthConfigured(this.config) && isAnonymous(this.config)) return false;
    if (this.denied.has(action)) return false;
    return scope === undefined || !this.denied.has(`${action}@${scope}`);
  }

  /** Records a 403 for `action` (on `scope`, or everywhere when none is given). */
  deny(action: Action, scope?: string | number): void {
    const key = scope === undefined ? action : `${action}@${scope}`;
    if (this.denied.has(key)) return;
    this.denied.add(key);
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify([...this.denied]));
    } catch {
      // storage full or unavailable: the refusal is still remembered in memory
    }
    this.version += 1;
    for (const listener of [...this.listeners]) listener();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;
}
