// The force form, rendered from a force scheduler's `all_fields` (nested groups, text,
// textarea, int, bool, list/choices, username, file; fixed fields stay hidden). Submitting
// posts `force` to forceschedulers/NAME; the server's per-field errors appear by the fields.
import { useId, useState, type FormEvent } from "react";
import type { ForceScheduler } from "../api/generated";
import { ControlError } from "../api/rest";
import {
  defaultValues,
  leafFields,
  forceParams,
  keyOfField,
  validate,
  type FieldValue,
  type ForceField,
} from "../lib/forceForm";
import { useControl, useServices } from "../app/services";
import { isAnonymous, userLabel } from "../lib/permissions";

interface Props {
  scheduler: ForceScheduler;
  builderid: number;
  onDone: (result: [number, Record<string, number>]) => void;
  onCancel: () => void;
}

export function ForceForm({ scheduler, builderid, onDone, onCancel }: Props) {
  const fields = scheduler.all_fields as unknown as ForceField[];
  const { config } = useServices();
  const [values, setValues] = useState<Record<string, FieldValue>>(() => {
    const initial = defaultValues(fields);
    // A logged-in user's name fills the empty "your name" fields (the server uses the
    // logged-in user as owner anyway).
    if (!isAnonymous(config)) {
      for (const field of leafFields(fields)) {
        const key = keyOfField(field);
        if (field.type !== "username" || initial[key] !== "") continue;
        const name = userLabel(config.user);
        initial[key] =
          field.need_email && config.user.email ? `${name} <${config.user.email}>` : name;
      }
    }
    return initial;
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const control = useControl();
  const titleId = useId();

  const set = (key: string, value: FieldValue) => setValues((v) => ({ ...v, [key]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validate(fields, values);
    setErrors(found);
    setFailure(null);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    try {
      const result = await control<[number, Record<string, number>]>({
        path: `forceschedulers/${scheduler.name}`,
        method: "force",
        params: forceParams(fields, values, builderid),
        scope: builderid,
      });
      onDone(result);
    } catch (error) {
      if (error instanceof ControlError && Object.keys(error.fieldErrors).length > 0)
        setErrors(error.fieldErrors);
      else setFailure(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="force-form card" onSubmit={(e) => void submit(e)} aria-labelledby={titleId}>
      <h2 id={titleId}>{scheduler.label || scheduler.name}</h2>
      <FieldGroup fields={fields} values={values} errors={errors} set={set} />
      {failure ? (
        <p className="error-text" role="alert">
          {failure}
        </p>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Starting…" : scheduler.button_name || "Start build"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

interface GroupProps {
  fields: readonly ForceField[];
  values: Record<string, FieldValue>;
  errors: Record<string, string>;
  set: (key: string, value: FieldValue) => void;
  columns?: number;
}

function FieldGroup({ fields, values, errors, set, columns }: GroupProps) {
  return (
    <div
      className="field-group"
      style={
        columns && columns > 1
          ? { gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))` }
          : undefined
      }
    >
      {fields.map((field, i) => {
        if (field.hide || field.type === "fixed") return null;
        if (field.type === "nested") {
          const inner = (
            <FieldGroup
              fields={field.fields ?? []}
              values={values}
              errors={errors}
              set={set}
              columns={field.columns}
            />
          );
          return field.label ? (
            <fieldset key={`${field.name}-${i}`} className="nested">
              <legend>{field.label}</legend>
              {inner}
            </fieldset>
          ) : (
            <div key={`${field.name}-${i}`} className="nested">
              {inner}
            </div>
          );
        }
        const key = keyOfField(field);
        return (
          <FieldInput
            key={key}
            field={field}
            value={values[key]}
            error={errors[key]}
            onChange={(v) => set(key, v)}
          />
        );
      })}
    </div>
  );
}

function FieldInput({
  field,
  value,
  error,
  onChange,
}: {
  field: ForceField;
  value: FieldValue | undefined;
  error: string | undefined;
  onChange: (value: FieldValue) => void;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const label = field.label || field.name;
  const common = {
    id,
    name: keyOfField(field),
    "aria-invalid": error ? true : undefined,
    "aria-describedby": error ? errorId : undefined,
    required: field.required || undefined,
  };
  let control;
  if (field.type === "bool") {
    return (
      <div className="field checkbox">
        <input
          {...common}
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange(e.target.checked)}
        />
        <label htmlFor={id}>{label}</label>
        {error ? (
          <span id={errorId} className="field-error">
            {error}
          </span>
        ) : null}
      </div>
    );
  }
  if (field.type === "textarea") {
    control = (
      <textarea
        {...common}
        rows={field.rows ?? 4}
        cols={field.cols}
        value={String(value ?? "")}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  } else if (field.type === "list") {
    const choices = field.choices ?? [];
    if (field.multiple) {
      const selected = Array.isArray(value) ? value : [];
      control = (
        <select
          {...common}
          multiple
          value={selected}
          onChange={(e) => onChange([...e.target.selectedOptions].map((o) => o.value))}
        >
          {choices.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      );
    } else if (field.strict === false) {
      const listId = `${id}-choices`;
      control = (
        <>
          <input
            {...common}
            list={listId}
            value={String(value ?? "")}
            onChange={(e) => onChange(e.target.value)}
          />
          <datalist id={listId}>
            {choices.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </>
      );
    } else {
      control = (
        <select {...common} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)}>
          {choices.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      );
    }
  } else if (field.type === "file") {
    control = (
      <input
        {...common}
        type="file"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) void file.text().then((text) => onChange(text));
        }}
      />
    );
  } else {
    control = (
      <input
        {...common}
        type="text"
        inputMode={field.type === "int" ? "numeric" : undefined}
        size={field.size}
        placeholder={
          field.type === "username" && field.need_email ? "Name <name@example.org>" : undefined
        }
        value={String(value ?? "")}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {control}
      {error ? (
        <span id={errorId} className="field-error">
          {error}
        </span>
      ) : null}
    </div>
  );
}
