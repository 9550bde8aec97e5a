import { describe, expect, it } from "vitest";
import { Permissions, type KilnConfig } from "./permissions";

const config = (auth: string, user: KilnConfig["user"]): KilnConfig => ({
  title: "t",
  buildbotURL: "http://x/",
  auth: { name: auth },
  user,
  versions: [],
});

describe("Permissions", () => {
  it("shows every control when there is no authentication", () => {
    expect(new Permissions(config("NoAuth", { anonymous: true })).may("force", 1)).toBe(true);
  });
  it("hides controls from anonymous users when authentication is configured", () => {
    const p = new Permissions(config("UsersFileAuth", { anonymous: true }));
    expect(p.may("force", 1)).toBe(false);
    expect(p.may("pause")).toBe(false);
  });
  it("hides a control after the server refused it, for that builder only", () => {
    const storage = new Map<string, string>();
    const store = {
      getItem: (k: string) => storage.get(k) ?? null,
      setItem: (k: string, v: string) => void storage.set(k, v),
    };
    const p = new Permissions(config("UsersFileAuth", { username: "alice" }), store);
    let changes = 0;
    p.subscribe(() => (changes += 1));
    expect(p.may("force", 1)).toBe(true);
    p.deny("force", 1);
    expect(p.may("force", 1)).toBe(false);
    expect(p.may("force", 2)).toBe(true);
    p.deny("pause");
    expect(p.may("pause")).toBe(false);
    expect(changes).toBe(2);
    // Remembered for the session, per user.
    expect(
      new Permissions(config("UsersFileAuth", { username: "alice" }), store).may("force", 1),
    ).toBe(false);
    expect(
      new Permissions(config("UsersFileAuth", { username: "bob" }), store).may("force", 1),
    ).toBe(true);
  });
});
