import { describe, expect, it } from "vitest";
import { defaultValues, forceParams, validate, type ForceField } from "./forceForm";

const field = (over: Partial<ForceField>): ForceField => ({
  name: "x",
  fullName: "x",
  label: "X",
  type: "text",
  default: "",
  ...over,
});

// The default layout of a force scheduler (rest-api.md §7).
const fields: ForceField[] = [
  {
    ...field({ name: "", fullName: null, type: "nested", default: "" }),
    fields: [
      field({ name: "username", fullName: "username", type: "username", need_email: true }),
      field({ name: "reason", fullName: "reason", default: "force build" }),
    ],
  },
  {
    ...field({ name: "", fullName: null, type: "nested" }),
    fields: [
      field({ name: "branch", fullName: "branch" }),
      field({ name: "revision", fullName: "revision" }),
    ],
  },
  field({ name: "exitcode", fullName: "exitcode", default: "0", type: "int" }),
  field({ name: "fast", fullName: "fast", default: false, type: "bool" }),
  field({
    name: "tests",
    fullName: "tests",
    default: ["a"],
    type: "list",
    multiple: true,
    choices: ["a", "b"],
  }),
  field({ name: "scheduler", fullName: "scheduler", default: "fixed-value", type: "fixed" }),
];

describe("force form", () => {
  it("starts from the defaults, by fullName", () => {
    expect(defaultValues(fields)).toEqual({
      username: "",
      reason: "force build",
      branch: "",
      revision: "",
      exitcode: "0",
      fast: false,
      tests: ["a"],
      scheduler: "fixed-value",
    });
  });

  it("posts every field, fixed ones at their default, and the builder", () => {
    const values = { ...defaultValues(fields), reason: "try", fast: true };
    expect(forceParams(fields, values, 3)).toMatchObject({
      reason: "try",
      fast: true,
      scheduler: "fixed-value",
      tests: ["a"],
      builderid: 3,
    });
  });

  it("checks integers, emails and required fields", () => {
    const values = { ...defaultValues(fields), exitcode: "x", username: "bob" };
    expect(validate(fields, values)).toEqual({
      exitcode: "must be a whole number",
      username: expect.stringContaining("email"),
    });
    const required = [field({ name: "r", fullName: "r", required: true })];
    expect(validate(required, { r: "" })).toEqual({ r: "required" });
  });
});
