// The force scheduler's form (rest-api.md §7): field descriptors from `all_fields`, their
// default values by fullName, client-side checks, and the `force` call's params.
import type { JsonValue } from "../api/generated";

export interface ForceField {
  name: string;
  fullName: string | null;
  label: string;
  tablabel?: string;
  type: string;
  default: JsonValue;
  required?: boolean;
  multiple?: boolean;
  regex?: string | null;
  hide?: boolean;
  maxsize?: number | null;
  size?: number;
  cols?: number;
  rows?: number;
  choices?: string[];
  strict?: boolean;
  need_email?: boolean;
  fields?: ForceField[];
  layout?: string;
  columns?: number;
}

export type FieldValue = string | boolean | string[];

/** The leaf fields (every non-nested descriptor), depth first. */
export function leafFields(fields: readonly ForceField[]): ForceField[] {
  const out: ForceField[] = [];
  for (const field of fields) {
    if (field.type === "nested") out.push(...leafFields(field.fields ?? []));
    else out.push(field);
  }
  return out;
}

/** The key a field's value is sent under. */
export function keyOfField(field: ForceField): string {
  return field.fullName ?? field.name;
}

function initialValue(field: ForceField): FieldValue {
  const value = field.default;
  if (field.type === "bool") return value === true || value === "true" || value === "True";
  if (field.multiple) {
    if (Array.isArray(value)) return value.map(String);
    return value === null || value === "" ? [] : [String(value)];
  }
  if (value === null || value === undefined)
    return field.type === "list" ? (field.choices?.[0] ?? "") : "";
  return String(value);
}

export function defaultValues(fields: readonly ForceField[]): Record<string, FieldValue> {
  const values: Record<string, FieldValue> = {};
  for (const field of leafFields(fields)) values[keyOfField(field)] = initialValue(field);
  return values;
}

/** Errors the form can tell without the server: required fields, regex, integers, email. */
export function validate(
  fields: readonly ForceField[],
  values: Record<string, FieldValue>,
): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const field of leafFields(fields)) {
    if (field.type === "fixed" || field.hide) continue;
    const key = keyOfField(field);
    const value = values[key];
    const text = typeof value === "string" ? value : "";
    const isEmpty = Array.isArray(value)
      ? value.length === 0
      : typeof value === "string" && value === "";
    if (field.required && isEmpty) {
      errors[key] = "required";
      continue;
    }
    if (typeof value !== "string" || value === "") continue;
    if (field.type === "int" && !/^[-+]?\d+$/.test(text)) errors[key] = "must be a whole number";
    else if (field.regex) {
      try {
        if (!new RegExp(field.regex).test(text)) errors[key] = `must match ${field.regex}`;
      } catch {
        // the server checks a pattern JavaScript cannot compile
      }
    }
    if (field.type === "username" && field.need_email && !/<[^<>@\s]+@[^<>\s]+>/.test(text)) {
      errors[key] = "give your name and email as 'Name <name@example.org>'";
    }
    if (field.maxsize && text.length > field.maxsize)
      errors[key] = `at most ${field.maxsize} characters`;
  }
  return errors;
}

/** `force` params: every field by fullName (fixed fields keep their default) and the builder. */
export function forceParams(
  fields: readonly ForceField[],
  values: Record<string, FieldValue>,
  builderid: number,
): Record<string, JsonValue> {
  const params: Record<string, JsonValue> = {};
  for (const field of leafFields(fields)) {
    const key = keyOfField(field);
    if (field.type === "fixed") {
      params[key] = field.default;
      continue;
    }
    const value = values[key] ?? initialValue(field);
    params[key] = value;
  }
  params.builderid = builderid;
  return params;
}
